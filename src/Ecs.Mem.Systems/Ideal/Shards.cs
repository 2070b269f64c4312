namespace EcsMem.Systems.Ideal;

/// <summary>
/// How to sample an LRU miss-ratio curve with SHARDS: a fixed rate R (<see cref="Size"/> 0), or a fixed sample
/// size s_max (<see cref="Size"/> &gt; 0) starting at rate <see cref="Rate"/> and lowering it as the sample fills.
/// </summary>
/// <param name="Rate">Sampling rate R in (0, 1] (the initial rate in fixed-size mode).</param>
/// <param name="Size">s_max, the most distinct pages tracked (0: fixed rate, no limit).</param>
public sealed record ShardsSettings(double Rate, int Size = 0)
{
    /// <summary>The threshold T = round(R · P) for the rate, at least 1 (P = <see cref="Shards.Modulus"/>).</summary>
    public long Threshold => Math.Clamp((long)Math.Round(Rate * Shards.Modulus), 1, Shards.Modulus);
}

/// <summary>
/// SHARDS, spatially hashed approximate reuse distance sampling (Waldspurger, Park, Garthwaite and Ahmad,
/// "Efficient MRC Construction with SHARDS", FAST 2015): an estimate of the LRU miss-ratio curve from a sample
/// of the pages. A page is in the sample when hash(page) mod P &lt; T, so every reference to a sampled page is
/// seen and its stack distance among the sampled pages is exact; that distance scaled by 1/R, R = T/P,
/// estimates the distance in the whole trace, and each sampled reference stands for 1/R references.
/// <list type="bullet">
/// <item>Fixed rate: T stays put; memory is proportional to R × the distinct pages.</item>
/// <item>Fixed size (s_max): the sample holds at most s_max pages; when a new page would exceed it, the pages
/// with the largest hash leave the sample and T drops to that hash (so they are never sampled again). References
/// counted before the drop keep their weight 1/R_old, which is the paper's rescaling of the histogram by
/// R_new/R_old expressed in references rather than in samples.</item>
/// <item>The adjustment (SHARDS_adj): E[N_s] − N_s, here N − Σ 1/R over the sampled references, is added to the
/// first histogram bucket (distance 1, a hit for every cache size), which corrects a sample that caught too many
/// or too few of the hottest pages.</item>
/// </list>
/// The hash is fixed and documented, so a curve is a pure function of the trace and the settings: MurmurHash3's
/// 64-bit finalizer (fmix64) of the page number, whose low 24 bits are compared with T (P = 2^24, as in the paper).
/// With R = 1 every page is sampled, nothing is scaled, the adjustment is 0, and the curve is exactly Mattson's
/// (<see cref="StackDistance"/>).
/// </summary>
public sealed class Shards
{
    /// <summary>P, the hash modulus (2^24, the value the paper uses).</summary>
    public const long Modulus = 1L << 24;

    private readonly StackDistance _stack;
    private readonly int _sMax;
    private readonly PriorityQueue<ulong, long>? _byHash; // sampled pages, largest hash first (fixed size)
    private readonly Dictionary<long, double> _histogram = new(); // scaled distance → weight (references)
    private long _threshold;
    private long _references;
    private double _sampledWeight;
    private double _coldWeight;
    private long _sampled;
    private long[]? _sortedKeys;
    private double[]? _cumulative;

    public Shards(ShardsSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!(settings.Rate > 0 && settings.Rate <= 1))
            throw new ArgumentOutOfRangeException(nameof(settings), settings.Rate, "the SHARDS rate must be in (0, 1]");
        ArgumentOutOfRangeException.ThrowIfNegative(settings.Size);
        _threshold = settings.Threshold;
        _sMax = settings.Size;
        if (_sMax > 0)
            _byHash = new PriorityQueue<ulong, long>(Math.Min(_sMax + 1, 1 << 20));
        _stack = new StackDistance(_sMax > 0 ? Math.Min(_sMax, 1 << 16) : 1 << 12);
    }

    /// <summary>fmix64 (MurmurHash3's 64-bit finalizer) of <paramref name="page"/>: the SHARDS spatial hash.</summary>
    public static ulong Hash(ulong page)
    {
        ulong h = page;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        h ^= h >> 33;
        return h;
    }

    /// <summary>The current threshold T (sampled: hash mod P &lt; T).</summary>
    public long Threshold => _threshold;

    /// <summary>The current rate R = T / P.</summary>
    public double Rate => (double)_threshold / Modulus;

    /// <summary>References seen (N), sampled or not.</summary>
    public long References => _references;

    /// <summary>References to sampled pages (N_s).</summary>
    public long SampledReferences => _sampled;

    /// <summary>Distinct pages currently in the sample (at most s_max in fixed-size mode).</summary>
    public int SampledPages => _stack.DistinctPages;

    /// <summary>Analyses one reference to <paramref name="page"/>.</summary>
    public void Reference(ulong page)
    {
        _references++;
        long h = (long)(Hash(page) & (Modulus - 1));
        if (h >= _threshold)
            return;
        _sampled++;
        _sortedKeys = null;
        double weight = (double)Modulus / _threshold;
        _sampledWeight += weight;
        int d = _stack.Distance(page);
        if (d == 0)
        {
            _coldWeight += weight;
            if (_byHash is not null)
            {
                _byHash.Enqueue(page, -h);
                while (_stack.DistinctPages > _sMax)
                    LowerThreshold();
            }
            return;
        }
        long scaled = d * Modulus / _threshold;
        ref double slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_histogram, scaled, out _);
        slot += weight;
    }

    /// <summary>Analyses a whole reference string.</summary>
    public void Run(ReadOnlySpan<ulong> pages)
    {
        foreach (ulong p in pages) Reference(p);
    }

    /// <summary><see cref="Run(ReadOnlySpan{ulong})"/> in slices, stopping between slices once <paramref name="cancel"/> is cancelled.</summary>
    public void Run(ReadOnlySpan<ulong> pages, CancellationToken cancel)
    {
        const int Slice = 1 << 16;
        for (int i = 0; i < pages.Length && !cancel.IsCancellationRequested; i += Slice)
            Run(pages.Slice(i, Math.Min(Slice, pages.Length - i)));
    }

    /// <summary>Fixed size: the pages with the largest hash leave the sample and T drops to that hash.</summary>
    private void LowerThreshold()
    {
        _byHash!.TryPeek(out _, out long negTop);
        long top = -negTop;
        while (_byHash.TryPeek(out ulong page, out long nh) && -nh == top)
        {
            _byHash.Dequeue();
            _stack.Forget(page);
        }
        _threshold = top;
    }

    /// <summary>
    /// The estimated hits with <paramref name="frames"/> frames, in references: the adjustment plus the weight of
    /// every sampled reuse whose scaled distance is at most <paramref name="frames"/>.
    /// </summary>
    public double EstimatedHits(int frames)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        if (_sortedKeys is null || _cumulative is null)
        {
            _sortedKeys = [.. _histogram.Keys];
            Array.Sort(_sortedKeys);
            _cumulative = new double[_sortedKeys.Length];
            double sum = 0;
            for (int i = 0; i < _sortedKeys.Length; i++)
                _cumulative[i] = sum += _histogram[_sortedKeys[i]];
        }
        int idx = Array.BinarySearch(_sortedKeys, (long)frames);
        int last = idx >= 0 ? idx : ~idx - 1; // the last key ≤ frames
        double hits = last >= 0 ? _cumulative[last] : 0;
        return hits + Adjustment;
    }

    /// <summary>SHARDS_adj: N − Σ 1/R over the sampled references (0 when R = 1), added to the first bucket.</summary>
    public double Adjustment => _references - _sampledWeight;

    /// <summary>The estimated miss ratio with <paramref name="frames"/> frames, clamped to [0, 1].</summary>
    public double MissRatio(int frames) =>
        _references == 0 ? 0 : Math.Clamp(1 - EstimatedHits(frames) / _references, 0, 1);

    /// <summary>
    /// The curve at <paramref name="frames"/> in the sweep's row format: estimated hits rounded to whole references
    /// (clamped to [0, N]), faults = N − hits, cold faults the weight of sampled first references, capacity the
    /// rest, evictions faults − frames as for exact LRU. With R = 1 this is <see cref="StackDistance.ResultFor"/>.
    /// </summary>
    public IdealResult ResultFor(int frames, string policyName = "lru-shards")
    {
        long hits = Math.Clamp((long)Math.Round(EstimatedHits(frames)), 0, _references);
        long faults = _references - hits;
        long cold = Math.Min((long)Math.Round(_coldWeight), faults);
        long evictions = Math.Max(0, faults - frames);
        return new IdealResult(policyName, frames, _references, hits, cold, faults - cold, evictions);
    }
}
