using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EcsMem.Systems.Policies;
using EcsMem.Traces;

namespace EcsMem.Systems.Ideal;

/// <summary>
/// The ideal mode for policy studies: N page frames, global replacement, nothing else takes frames.
/// Each reference to a non-resident page is one fault; when every frame is full it evicts exactly one
/// victim chosen by the policy. No TLB, no caches, no dirty pages: only the reference string and the policy.
/// </summary>
/// <remarks>
/// Per reference: one open-addressing lookup (<see cref="PageMap"/>) and one policy hook; a fault adds a
/// lookup in the set of pages ever seen (cold vs capacity) and the eviction. Nothing allocates in steady
/// state (the seen-set grows by doubling with the number of distinct pages). The replay loop is generic over
/// the policy's hooks (<see cref="IIdealHooks"/>): a built-in policy is recognised by its type once per batch
/// and its loop is compiled with the hooks called directly and inlined; any other policy runs the same loop
/// through <see cref="IReplacementPolicy"/> (<see cref="InterfaceHooks"/>). Both give the same results.
/// </remarks>
public sealed class IdealSimulator
{
    private const int BatchSize = 4096;

    private readonly IReplacementPolicy _policy;
    private readonly int _frames;
    /// <summary>
    /// The frame each page ever referenced was last loaded into: one probe answers both "seen before?"
    /// (cold vs capacity) and, with <see cref="_framePage"/>, "resident?". The entry is never rewritten when
    /// its page is evicted: the frame's new owner in <see cref="_framePage"/> tells that it is stale. So a
    /// fault touches only the faulting page's entry, not the victim's (the victim is by design the page least
    /// likely to be in the host's caches; rewriting its entry cost a cache miss per fault).
    /// </summary>
    private readonly PageMap _pages;
    private const int NeverLoaded = int.MaxValue;
    /// <summary>The page in each frame (valid for frames below <see cref="_used"/>).</summary>
    private readonly ulong[] _framePage;
    private int _used;
    private bool _futureGiven;

    private long _references, _hits, _cold, _capacity, _evictions;

    /// <summary>Creates the simulator and initialises <paramref name="policy"/> for <paramref name="frames"/> frames.</summary>
    public IdealSimulator(int frames, IReplacementPolicy policy)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        ArgumentNullException.ThrowIfNull(policy);
        _frames = frames;
        _policy = policy;
        _pages = new PageMap(Math.Max(frames, 1024));
        _framePage = new ulong[frames];
        policy.Initialize(frames);
    }

    public IReplacementPolicy Policy => _policy;

    /// <summary>When set, every evicted page number is appended here (for tests and traces of victims).</summary>
    public List<ulong>? EvictionLog { get; set; }

    /// <summary>
    /// When set, every reference replayed by <c>Run</c> is recorded here, step by step (exercise tables, <c>--steps</c>).
    /// Off (null), the replay loop is the usual one: the recorder is looked at once per batch, never per reference.
    /// References made by calling <see cref="Reference"/> directly are not recorded.
    /// </summary>
    public IdealStepRecorder? StepRecorder { get; set; }

    /// <summary>
    /// Whether <see cref="Run(ITraceReader, CancellationToken)"/> reads and decodes the trace on a second thread
    /// (<see cref="PageReadAhead"/>) when the machine has two cores or more (default true). Results are the same
    /// either way; off, everything runs on the calling thread.
    /// </summary>
    public bool ReadAhead { get; set; } = true;

    public IdealResult Result => new(_policy.Name, _frames, _references, _hits, _cold, _capacity, _evictions);

    /// <summary>The frame holding <paramref name="page"/>, or -1.</summary>
    public int FrameOf(ulong page) => _pages.TryGetValue(page, out int f) && IsResidentIn(page, f) ? f : -1;

    /// <summary>True when <paramref name="page"/>'s last frame <paramref name="frame"/> still holds it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsResidentIn(ulong page, int frame) => (uint)frame < (uint)_used && _framePage[frame] == page;

    /// <summary>
    /// Replays a whole reference string. An offline policy (<see cref="IFutureAwarePolicy"/>, e.g. OPT) is
    /// given the string first; that only works when this is the first thing replayed.
    /// </summary>
    public void Run(ReadOnlySpan<ulong> pages)
    {
        if (_policy is IFutureAwarePolicy future)
        {
            if (_references != 0 || _futureGiven)
                throw new InvalidOperationException($"policy '{_policy.Name}' needs the whole reference string in one Run call");
            future.SetFuture(pages);
            _futureGiven = true;
        }
        Replay(pages);
    }

    /// <summary>How many references ahead <see cref="Replay"/> prefetches page-map entries.</summary>
    private const int PrefetchDistance = 8;

    /// <summary>
    /// The replay loop: each reference, with the page-map entry of the one <see cref="PrefetchDistance"/> ahead
    /// prefetched so its probe overlaps the work in between (the trace is known in advance, unlike a CPU's
    /// access stream). Prefetching changes only timing, never a result.
    /// </summary>
    private void Replay(ReadOnlySpan<ulong> pages)
    {
        if (StepRecorder is { } steps)
        {
            ReplayRecorded(pages, steps);
            return;
        }
        // One type test per batch picks the loop compiled for this policy (sealed classes: exact types).
        switch (_policy)
        {
            case LruPolicy lru: ReplayWith(pages, new LruPolicy.Hooks(lru)); break;
            case FifoPolicy fifo: ReplayWith(pages, new FifoPolicy.Hooks(fifo)); break;
            case ClockPolicy clock: ReplayWith(pages, new ClockPolicy.Hooks(clock)); break;
            case LruLinuxPolicy linux: ReplayWith(pages, new LruLinuxPolicy.Hooks(linux)); break;
            case LfuPolicy lfu: ReplayWith(pages, new LfuPolicy.Hooks(lfu)); break;
            case ArcPolicy arc: ReplayWith(pages, new ArcPolicy.Hooks(arc)); break;
            case OptPolicy opt: ReplayWith(pages, new OptPolicy.Hooks(opt)); break;
            case RandomPolicy random: ReplayWith(pages, new RandomPolicy.Hooks(random)); break;
            default: ReplayWith(pages, new InterfaceHooks(_policy)); break;
        }
    }

    /// <summary>
    /// The replay loop, compiled once per hooks type: <see cref="Reference"/> and <see cref="Fault"/> with the
    /// state in locals and the policy's hooks called on the struct, so nothing is dispatched per reference. The
    /// same steps in the same order as <see cref="Reference"/>, hence the same results. References to pages the
    /// map already holds run in <see cref="ReplayKnown"/>, a loop with no call in it; a first reference (the map
    /// inserts), the last few of the batch and, when <see cref="EvictionLog"/> is set, every reference take the
    /// whole step here (<see cref="Step"/>).
    /// </summary>
    // Optimised from the first call: one call replays a whole reference string, so tiering would run most of it
    // as tier-0 or on-stack-replacement code. A built-in policy's loop has no virtual call left for PGO to
    // devirtualise; a custom policy's interface calls stay calls (as a plain call through an interface costs).
    // The counts are written back at the end of the batch: a policy that throws (a bad victim) ends the run.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReplayWith<THooks>(ReadOnlySpan<ulong> pages, THooks hooks) where THooks : struct, IIdealHooks
    {
        int usedBefore = _used;
        int distinctBefore = _pages.Count;
        long hitsBefore = _hits;
        // Only hits are counted per reference: a first reference is exactly an entry the map adds, a fault with
        // every frame in use is exactly an eviction, so the other counts follow below.
        int n = pages.Length;
        int i = 0;
        bool done = false;
        try
        {
            while (i < n)
            {
                if (EvictionLog is null)
                {
                    bool free = _used < _frames;
                    i = free ? ReplayKnown<THooks, FramesFree>(pages, i, hooks, out int badVictim) : ReplayKnown<THooks, FramesFull>(pages, i, hooks, out badVictim);
                    if (i < 0)
                        ThrowBadVictim(badVictim);
                    if (free && _used == _frames)
                        continue; // the last free frame was just taken: the loop for a full memory goes on from i
                }
                Step(pages[i], hooks);
                i++;
            }
            done = true;
        }
        finally
        {
            if (!done)
            {
                // A policy that throws (a bad victim) ends the run: the counts stay those before this batch.
                _hits = hitsBefore;
                _used = usedBefore;
            }
        }
        long hits = _hits - hitsBefore;
        long faults = n - hits;
        long cold = _pages.Count - distinctBefore;
        _references += n;
        _cold += cold;
        _capacity += faults - cold;
        _evictions += faults - (_used - usedBefore);
    }

    /// <summary>
    /// The hot loop of <see cref="ReplayWith"/>: from <paramref name="start"/>, every reference to a page the map
    /// holds (a hit, or a capacity fault), until the first reference the map does not know or the last
    /// <see cref="PrefetchDistance"/> references, whose index it returns; -1 when the policy chose a frame that is
    /// not one (<paramref name="badVictim"/>). Compiled twice (<typeparamref name="TMemory"/>): while frames are
    /// still free (a fault takes the next one; the loop also stops when the last is taken) and once every frame is
    /// in use (a fault always evicts, and the number of frames in use is the constant frame count). It makes no
    /// call (the map's insertion is <see cref="Step"/>'s): a call in the loop forces every value live across it
    /// into the five callee-saved registers or onto the stack, and the first version of this loop, with the
    /// insertion inline and one loop for both phases, kept half its values on the stack. The fields it changes
    /// (frames in use, hits) are copied to locals at entry and back at exit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int ReplayKnown<THooks, TMemory>(ReadOnlySpan<ulong> pages, int start, THooks hooks, out int badVictim)
        where THooks : struct, IIdealHooks where TMemory : struct, IMemoryPhase
    {
        PageMap.Probe probe = _pages.StartProbe();
        // Unchecked reads and writes of framePage: every index is below used, or a victim checked below frames,
        // and used never exceeds frames, the array's length.
        ref ulong framePage = ref MemoryMarshal.GetArrayDataReference(_framePage);
        ref ulong first = ref MemoryMarshal.GetReference(pages);
        int frames = _frames;
        int used = TMemory.Full ? frames : _used;
        long hits = _hits;
        int n = pages.Length;
        badVictim = 0;
        // Each reference prefetches the map entry of the one PrefetchDistance ahead, so this loop stops that many
        // references before the end (the caller steps through the last few without a prefetch): it needs no clamp
        // and no trace length in a register. Prefetching changes only timing, never a result.
        // (Unchecked reads of pages: every index is below n.)
        ref ulong at = ref Unsafe.Add(ref first, start);
        ref ulong stop = ref Unsafe.Add(ref first, Math.Max(start, n - PrefetchDistance));
        while (Unsafe.IsAddressLessThan(ref at, ref stop))
        {
            if (!TMemory.Full && used == frames)
                break; // every frame is in use: the caller goes on with the loop for a full memory
            probe.Prefetch(Unsafe.Add(ref at, PrefetchDistance));
            ulong page = at;
            ref int frame = ref probe.Find(page);
            if (Unsafe.IsNullRef(ref frame))
                break; // a first reference: the caller inserts it
            at = ref Unsafe.Add(ref at, 1);
            int f = frame;
            if ((uint)f < (uint)used && Unsafe.Add(ref framePage, (nint)(uint)f) == page)
            {
                hits++;
                hooks.OnReferenced(f);
                continue;
            }
            hooks.OnMiss(page);
            if (!TMemory.Full)
            {
                f = used++;
            }
            else
            {
                f = hooks.ChooseVictim();
                if ((uint)f >= (uint)frames)
                {
                    badVictim = f;
                    at = ref Unsafe.NullRef<ulong>();
                    break;
                }
                hooks.OnRemoved(f);
            }
            Unsafe.Add(ref framePage, (nint)(uint)f) = page;
            hooks.OnInserted(f, page);
            // The hooks never touch the map, so the reference from Find is still valid.
            frame = f;
        }
        _used = used;
        _hits = hits;
        return Unsafe.IsNullRef(ref at) ? -1 : (int)(Unsafe.ByteOffset(ref first, ref at) / sizeof(ulong));
    }

    /// <summary>Which loop <see cref="ReplayKnown"/> is compiled as: <see cref="Full"/> once every frame is in use.</summary>
    private interface IMemoryPhase
    {
        static abstract bool Full { get; }
    }

    /// <summary>Frames still free: a fault takes the next one.</summary>
    private readonly struct FramesFree : IMemoryPhase
    {
        public static bool Full => false;
    }

    /// <summary>Every frame in use: a fault evicts.</summary>
    private readonly struct FramesFull : IMemoryPhase
    {
        public static bool Full => true;
    }

    /// <summary>
    /// One reference in <see cref="ReplayWith"/>, the whole step: the map's lookup or insertion, then the hit or
    /// the fault, with the eviction logged when <see cref="EvictionLog"/> is set.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void Step<THooks>(ulong page, THooks hooks) where THooks : struct, IIdealHooks
    {
        ref int frame = ref _pages.GetValueRefOrAdd(page, NeverLoaded, out _);
        int f = frame;
        if (IsResidentIn(page, f))
        {
            _hits++;
            hooks.OnReferenced(f);
            return;
        }
        hooks.OnMiss(page);
        if (_used < _frames)
        {
            f = _used++;
        }
        else
        {
            f = hooks.ChooseVictim();
            if ((uint)f >= (uint)_frames) ThrowBadVictim(f);
            hooks.OnRemoved(f);
            EvictionLog?.Add(_framePage[f]);
        }
        _framePage[f] = page;
        hooks.OnInserted(f, page);
        // The hooks never touch the map, so the reference from GetValueRefOrAdd is still valid.
        frame = f;
    }

    /// <summary>
    /// The replay with a step recorder: the same <see cref="Reference"/> per page, then a snapshot of the frames.
    /// A hit is told from a fault by the hit count; the frame is where the page sits afterwards.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReplayRecorded(ReadOnlySpan<ulong> pages, IdealStepRecorder steps)
    {
        foreach (ulong page in pages)
        {
            long hits = _hits;
            Reference(page);
            steps.Record(page, _hits == hits, FrameOf(page), _framePage.AsSpan(0, _used), _frames);
        }
    }

    /// <summary>
    /// Replays a trace, pulling batches into a buffer owned here. Pages are addresses >> 12 (4 KiB pages),
    /// or the page numbers themselves for a <see cref="PageListReader"/>. An offline policy makes this read
    /// the whole trace into memory first.
    /// </summary>
    public void Run(ITraceReader reader) => Run(reader, CancellationToken.None);

    /// <summary>
    /// <see cref="Run(ITraceReader)"/> that stops between batches once <paramref name="cancel"/> is cancelled
    /// (Ctrl-C): <see cref="Result"/> then covers the references replayed so far. An offline policy replays
    /// nothing when cancelled while the trace is still being read.
    /// </summary>
    public void Run(ITraceReader reader, CancellationToken cancel)
    {
        if (_policy is IFutureAwarePolicy)
        {
            ulong[] all = ReadAll(reader, cancel);
            if (!cancel.IsCancellationRequested)
                Run(all, cancel);
            return;
        }
        if (ReadAhead && PageReadAhead.Worthwhile)
        {
            // The reader on a second thread, the replay here: the same batches in the same order.
            using var ahead = new PageReadAhead(reader);
            ReadOnlySpan<ulong> batch;
            while (!cancel.IsCancellationRequested && !(batch = ahead.Next()).IsEmpty)
                Replay(batch);
            return;
        }
        var pages = new ulong[BatchSize];
        if (reader is IPageReader list)
        {
            int n;
            while (!cancel.IsCancellationRequested && (n = list.ReadPages(pages)) > 0)
                Replay(pages.AsSpan(0, n));
            return;
        }
        var accesses = new MemoryAccess[BatchSize];
        int m;
        while (!cancel.IsCancellationRequested && (m = reader.Read(accesses)) > 0)
        {
            for (int i = 0; i < m; i++) pages[i] = accesses[i].Address >> 12;
            Replay(pages.AsSpan(0, m));
        }
    }

    /// <summary>
    /// <see cref="Run(ReadOnlySpan{ulong})"/> in slices of 64Ki references, stopping between slices once
    /// <paramref name="cancel"/> is cancelled.
    /// </summary>
    public void Run(ReadOnlySpan<ulong> pages, CancellationToken cancel)
    {
        if (!cancel.CanBeCanceled)
        {
            Run(pages);
            return;
        }
        if (_policy is IFutureAwarePolicy future)
        {
            if (_references != 0 || _futureGiven)
                throw new InvalidOperationException($"policy '{_policy.Name}' needs the whole reference string in one Run call");
            future.SetFuture(pages);
            _futureGiven = true;
        }
        const int Slice = 1 << 16;
        for (int i = 0; i < pages.Length && !cancel.IsCancellationRequested; i += Slice)
            Replay(pages.Slice(i, Math.Min(Slice, pages.Length - i)));
    }

    /// <summary>Reads a whole trace into an array of page numbers.</summary>
    public static ulong[] ReadAll(ITraceReader reader) => ReadAll(reader, CancellationToken.None);

    /// <summary>Reads a trace into an array of page numbers, stopping early (with what was read) once <paramref name="cancel"/> is cancelled.</summary>
    public static ulong[] ReadAll(ITraceReader reader, CancellationToken cancel) => ReadAll(reader, cancel, int.MaxValue);

    /// <summary>
    /// <see cref="ReadAll(ITraceReader, CancellationToken)"/> that stops reading once it holds more than
    /// <paramref name="limit"/> pages (a caller that refuses long traces need not read all of one): a result
    /// longer than <paramref name="limit"/> means the trace is longer.
    /// </summary>
    public static ulong[] ReadAll(ITraceReader reader, CancellationToken cancel, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        // A binary trace's header gives its length: one array of exactly that size, instead of growth by doubling
        // (up to twice the trace while growing, plus the final trim: 2.6 times the trace at the peak).
        int initial = limit < (1 << 16) ? limit + 1 : 1 << 16;
        if (reader is BinaryTraceReader { DeclaredCount: > 0 and <= int.MaxValue / 2 } binary && (long)binary.DeclaredCount <= limit)
            initial = (int)binary.DeclaredCount;
        var pages = new ulong[initial];
        int count = 0;
        if (reader is IPageReader list)
        {
            while (!cancel.IsCancellationRequested && count <= limit)
            {
                if (count == pages.Length) Array.Resize(ref pages, checked(pages.Length * 2));
                int n = list.ReadPages(pages.AsSpan(count));
                if (n == 0) break;
                count += n;
            }
        }
        else
        {
            var accesses = new MemoryAccess[BatchSize];
            int m;
            while (!cancel.IsCancellationRequested && count <= limit && (m = reader.Read(accesses)) > 0)
            {
                if (count + m > pages.Length) Array.Resize(ref pages, checked(Math.Max(pages.Length * 2, count + m)));
                for (int i = 0; i < m; i++) pages[count++] = accesses[i].Address >> 12;
            }
        }
        Array.Resize(ref pages, count);
        return pages;
    }

    /// <summary>One reference to <paramref name="page"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Reference(ulong page)
    {
        _references++;
        ref int frame = ref _pages.GetValueRefOrAdd(page, NeverLoaded, out bool firstTime);
        if (IsResidentIn(page, frame))
        {
            _hits++;
            _policy.OnReferenced(frame);
            return;
        }
        if (firstTime) _cold++;
        else _capacity++;
        frame = Fault(page);
    }

    /// <summary>Handles a fault on <paramref name="page"/>; returns the frame it now occupies.</summary>
    // Out of line (the hit path stays small in the loop) and optimised from the first call, like the
    // policies' hooks (see IReplacementPolicy): a replay is over before tiering would get to it.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private int Fault(ulong page)
    {
        _policy.OnMiss(page);
        int frame;
        if (_used < _frames)
        {
            frame = _used++;
        }
        else
        {
            frame = _policy.ChooseVictim(ReadOnlySpan<bool>.Empty);
            // Every frame is occupied once all are used, so any in-range frame holds a page.
            if ((uint)frame >= (uint)_frames) ThrowBadVictim(frame);
            ulong victim = _framePage[frame];
            _policy.OnRemoved(frame);
            // The victim's map entry keeps naming this frame; overwriting _framePage below is what evicts it.
            _evictions++;
            EvictionLog?.Add(victim);
        }
        _framePage[frame] = page;
        _policy.OnInserted(frame, page);
        return frame;
    }

    /// <summary>Kept out of <see cref="Fault"/>: formatting the message there made every fault zero a stack frame for it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBadVictim(int frame) =>
        throw new InvalidOperationException($"policy '{_policy.Name}' chose frame {frame}, not one of the {_frames} frames");
}
