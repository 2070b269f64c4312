using System.Globalization;
using System.Text;
using System.Text.Json;
using EcsMem.Diagnostics;

namespace EcsMem.Oracle;

/// <summary>A figure over the recorded runs: its smallest and largest value.</summary>
public readonly record struct Spread(long Min, long Max)
{
    public bool Exact => Min == Max;
    public bool Contains(long v) => v >= Min && v <= Max;

    /// <summary>
    /// How far <paramref name="v"/> lies outside the spread, in widths of it (<c>Max − Min + 1</c>, so that one off an
    /// exact figure is 1): 0 inside. The known gaps' rows state their program's worst (oracle/known-gaps.md).
    /// </summary>
    public double Outside(long v) => Contains(v) ? 0 : (v < Min ? Min - (double)v : v - (double)Max) / (Max - (double)Min + 1);
    public override string ToString() => Exact ? Min.ToString("N0", CultureInfo.InvariantCulture)
        : Min.ToString("N0", CultureInfo.InvariantCulture) + "–" + Max.ToString("N0", CultureInfo.InvariantCulture);
}

/// <summary>One VMA as /proc/PID/smaps shows it (only the program's own: overlapping its regions, or [heap]).</summary>
public sealed record VmaFigure(ulong Start, ulong End, string Perms, long Offset, string Name, Spread RssKb, Spread AnonKb, Spread SwapKb, Spread LockedKb)
{
    public long Size => (long)(End - Start);

    /// <summary>
    /// Every /proc/PID/smaps field of the VMA (kB; THPeligible 0 or 1), by its name in the file, for the programs
    /// that say <c>smaps</c>; null for the others.
    /// </summary>
    public IReadOnlyDictionary<string, Spread>? Smaps { get; init; }

    /// <summary>The VmFlags line's mnemonics (e.g. <c>rd wr mr mw me ac</c>) with <see cref="Smaps"/>; null when not recorded or not the same in every run.</summary>
    public string? VmFlags { get; init; }

    /// <summary>
    /// Outside the kit's slots: in the brk area, whose address differs between the real program (PIE, after its
    /// bss) and the scenario's exec layout, so only its size, protections, offset and name are compared.
    /// </summary>
    public bool InHeapArea => IsInHeapArea(Start);

    /// <summary>A VMA starting at <paramref name="start"/> lies outside the kit's slots: the brk area (<see cref="InHeapArea"/>).</summary>
    public static bool IsInHeapArea(ulong start) => start < ProgramPlan.SlotBase || start >= ProgramPlan.SlotBase + (16 * ProgramPlan.SlotSize);

    /// <summary>What must match: address (outside the brk area), size, protections, offset and name.</summary>
    public string Shape => (InHeapArea ? "brk-area" : "0x" + Start.ToString("x", CultureInfo.InvariantCulture)) +
        $" {Size / 1024}K {Perms} {Offset} {Name}";
}

/// <summary>One phase's figures.</summary>
public sealed record PhaseFigures(string Name, Spread MinFlt, Spread MajFlt, IReadOnlyList<string> Errors, bool VmasStable,
    IReadOnlyList<VmaFigure> Vmas, IReadOnlyDictionary<string, Spread> Rollup, IReadOnlyDictionary<string, Spread> MemStat)
{
    /// <summary>/proc/meminfo's HugePages_Total, _Free, _Rsvd and _Surp after the phase (recorded for programs that set <c>hugepages</c>).</summary>
    public IReadOnlyDictionary<string, Spread> MemInfo { get; init; } = new SortedDictionary<string, Spread>(StringComparer.Ordinal);

    /// <summary>
    /// The memory cgroup's v1 counters after the phase (memory.oom_control's oom_kill, memory.failcnt,
    /// memory.max_usage_in_bytes); recorded under <c>memcg</c> since the cgroup OOM program, empty before.
    /// </summary>
    public IReadOnlyDictionary<string, Spread> Memcg { get; init; } = new SortedDictionary<string, Spread>(StringComparer.Ordinal);

    /// <summary>
    /// /proc/vmstat's pswpin and pswpout over the phase (pages read from and written to swap), recorded by the programs
    /// with <c>swap</c> since session 21: each run's reading at this phase_end's end less the one before (the previous
    /// phase_end's, or the one before the first phase), so a phase's figure includes its phase_end's reads and the next
    /// phase_start (outside the fault window); [min, max] over the runs. Empty before.
    /// </summary>
    public IReadOnlyDictionary<string, Spread> Pswp { get; init; } = new SortedDictionary<string, Spread>(StringComparer.Ordinal);

    /// <summary>
    /// memory.stat's pgpgin and pgpgout over the phase (cgroup v1's charge and uncharge events): each run's phase-end
    /// value less the previous phase's, [min, max] over the runs; for every phase but the first of the memcg programs
    /// recorded since session 21 (the runs' own differences, which <see cref="MemStat"/>'s cumulative spreads do not
    /// give). Empty before, and for the first phase (nothing is read before it).
    /// </summary>
    public IReadOnlyDictionary<string, Spread> PgpgDelta { get; init; } = new SortedDictionary<string, Spread>(StringComparer.Ordinal);

    /// <summary>
    /// memory.stat's pgpgin and pgpgout at the phase's end counted from the program's exec, as EcsMem counts them: each
    /// run's phase-end value less the events before it (<see cref="Fixtures.PgpgExecOf"/>, from the run's memory.stat at
    /// main's entry), [min, max] over the runs; for the memcg programs recorded since session 22. Empty before (the
    /// cumulative <see cref="MemStat"/> is compared then).
    /// </summary>
    public IReadOnlyDictionary<string, Spread> PgpgExec { get; init; } = new SortedDictionary<string, Spread>(StringComparer.Ordinal);
}

/// <summary>One program's recorded figures.</summary>
public sealed record ProgramFigures(string Name, int Runs, IReadOnlyList<PhaseFigures> Phases)
{
    /// <summary>
    /// The C harness's own anonymous footprint (kB) in each run, in run order: the first phase's smaps_rollup Anonymous
    /// + Swap less the program's VMAs' (outside the brk area) Anonymous + Swap, all of one run (<see cref="HarnessKbOf"/>).
    /// Null in a program recorded before record.sh kept it (session 13): only its spreads are known then.
    /// </summary>
    public IReadOnlyList<long>? HarnessKb { get; init; }

    /// <summary>
    /// memory.stat at main's entry (harness.h's main_entry_stat: <c>cache</c> and <c>rss</c> in bytes, <c>pgpgin</c>,
    /// <c>pgpgout</c>) and <c>chain</c>, the pages charged and uncharged again before main (<see cref="Fixtures.ChainOf"/>),
    /// [min, max] over the runs: reported, not compared. Empty in a program recorded before session 22.
    /// </summary>
    public IReadOnlyDictionary<string, Spread> Main { get; init; } = new SortedDictionary<string, Spread>(StringComparer.Ordinal);
}

/// <summary>
/// <c>oracle/fixtures.json</c>: the kernel settings of the recording machine and every program's figures over
/// the recorded runs (min and max). Written by <see cref="Collect"/> (record.sh), read by the tests.
/// </summary>
public sealed class Fixtures
{
    public required IReadOnlyDictionary<string, string> Kernel { get; init; }
    public required IReadOnlyList<ProgramFigures> Programs { get; init; }

    public ProgramFigures? Find(string name) => Programs.FirstOrDefault(p => p.Name == name);

    /// <summary>
    /// These fixtures with <paramref name="recorded"/>'s programs replacing (or joining) the ones of the same name, in
    /// name order, and its kernel settings (a partial re-recording on the same machine).
    /// </summary>
    public Fixtures MergedWith(Fixtures recorded)
    {
        var byName = Programs.ToDictionary(p => p.Name, StringComparer.Ordinal);
        foreach (ProgramFigures p in recorded.Programs)
            byName[p.Name] = p;
        return new Fixtures { Kernel = recorded.Kernel, Programs = byName.Values.OrderBy(p => p.Name, StringComparer.Ordinal).ToList() };
    }

    /// <summary>The settings lines that may differ between two recordings of one machine state: the date.</summary>
    public static readonly string[] AddIgnoredSettings = ["recorded"];

    /// <summary>
    /// These fixtures with <paramref name="recorded"/>'s runs ADDED (<c>collect --add</c>): a program already here gets
    /// the union of its entry and the new one (<see cref="Union"/>), as if <see cref="Collect"/> had read the old runs and
    /// the new ones (in that order) together; a new program joins. The kernel block stays these fixtures' (the other
    /// programs' entries were recorded under it). Refuses (<see cref="InputException"/>) when a kernel setting but the
    /// date differs: runs of another machine state are not more runs of the same figures.
    /// </summary>
    public Fixtures WithRunsAdded(Fixtures recorded)
    {
        foreach (string key in Kernel.Keys.Union(recorded.Kernel.Keys).Where(k => !AddIgnoredSettings.Contains(k)).Order(StringComparer.Ordinal))
        {
            string mine = Kernel.TryGetValue(key, out string? a) ? a : "(none)";
            string theirs = recorded.Kernel.TryGetValue(key, out string? b) ? b : "(none)";
            if (mine != theirs)
                throw new InputException("collect --add", 0, key,
                    $"kernel setting {key} is '{mine}' in fixtures.json but '{theirs}' in the runs' settings: runs of another machine state are not added");
        }
        var byName = Programs.ToDictionary(p => p.Name, StringComparer.Ordinal);
        foreach (ProgramFigures p in recorded.Programs)
            byName[p.Name] = byName.TryGetValue(p.Name, out ProgramFigures? old) ? Union(old, p) : p;
        return new Fixtures { Kernel = Kernel, Programs = byName.Values.OrderBy(p => p.Name, StringComparer.Ordinal).ToList() };
    }

    /// <summary>
    /// One program's figures over <paramref name="a"/>'s runs and then <paramref name="b"/>'s, from the two entries alone
    /// (the raw runs of an old entry are not kept): what <see cref="Collect"/> gives for both run sets together, rule for
    /// rule: every spread widened to cover both; the run counts summed; harness_kb concatenated (null when either lacks
    /// it); the VMA list kept when both are stable with the same shapes, else not stable and empty; a key of a pairs
    /// block taken from the first entry (<see cref="Collect"/> takes them from the first run), 0 in the second when it
    /// lacks it (as <see cref="Num"/> reads an absent key); pswp, pgpg_delta, pgpg_exec and main only when both have
    /// them (<see cref="Collect"/> needs every run to); a phase's errors the first entry's (the first run's). Refuses
    /// (<see cref="InputException"/>) when the phase names differ.
    /// </summary>
    public static ProgramFigures Union(ProgramFigures a, ProgramFigures b)
    {
        string an = string.Join(',', a.Phases.Select(p => p.Name)), bn = string.Join(',', b.Phases.Select(p => p.Name));
        if (an != bn)
            throw new InputException("collect --add", 0, a.Name, $"{a.Name}'s phases are {an} in fixtures.json but {bn} in the runs: not the same program");
        var phases = a.Phases.Zip(b.Phases, (x, y) =>
        {
            bool stable = x.VmasStable && y.VmasStable && x.Vmas.Select(v => v.Shape).SequenceEqual(y.Vmas.Select(v => v.Shape), StringComparer.Ordinal);
            var vmas = stable ? x.Vmas.Zip(y.Vmas, (v, w) => new VmaFigure(v.Start, v.End, v.Perms, v.Offset, v.Name,
                Widen(v.RssKb, w.RssKb), Widen(v.AnonKb, w.AnonKb), Widen(v.SwapKb, w.SwapKb), Widen(v.LockedKb, w.LockedKb))
            {
                Smaps = v.Smaps is null ? null : UnionPairs(v.Smaps, w.Smaps),
                VmFlags = v.VmFlags is not null && v.VmFlags == w.VmFlags ? v.VmFlags : null,
            }).ToList() : [];
            return new PhaseFigures(x.Name, Widen(x.MinFlt, y.MinFlt), Widen(x.MajFlt, y.MajFlt), x.Errors, stable, vmas,
                UnionPairs(x.Rollup, y.Rollup), UnionPairs(x.MemStat, y.MemStat))
            {
                // The file leaves an all-zero meminfo out (ToJson), so an entry read back may lack it where the runs
                // had zeros: the other entry's keys then, widened with 0.
                MemInfo = x.MemInfo.Count == 0 ? UnionPairs(y.MemInfo, x.MemInfo) : UnionPairs(x.MemInfo, y.MemInfo),
                Memcg = UnionPairs(x.Memcg, y.Memcg),
                Pswp = UnionEvery(x.Pswp, y.Pswp),
                PgpgDelta = UnionEvery(x.PgpgDelta, y.PgpgDelta),
                PgpgExec = UnionEvery(x.PgpgExec, y.PgpgExec),
            };
        }).ToList();
        return new ProgramFigures(a.Name, a.Runs + b.Runs, phases)
        {
            HarnessKb = a.HarnessKb is { } ha && b.HarnessKb is { } hb ? ha.Concat(hb).ToList() : null,
            Main = UnionEvery(a.Main, b.Main),
        };
    }

    private static Spread Widen(Spread a, Spread b) => new(Math.Min(a.Min, b.Min), Math.Max(a.Max, b.Max));

    /// <summary>A pairs block over both entries: <paramref name="a"/>'s keys, a key <paramref name="b"/> lacks read as 0 there.</summary>
    private static SortedDictionary<string, Spread> UnionPairs(IReadOnlyDictionary<string, Spread> a, IReadOnlyDictionary<string, Spread>? b)
    {
        var d = new SortedDictionary<string, Spread>(StringComparer.Ordinal);
        foreach (var (k, v) in a)
            d[k] = Widen(v, b is not null && b.TryGetValue(k, out Spread w) ? w : new Spread(0, 0));
        return d;
    }

    /// <summary>A block <see cref="Collect"/> gives only when every run has it: empty unless both entries have it.</summary>
    private static SortedDictionary<string, Spread> UnionEvery(IReadOnlyDictionary<string, Spread> a, IReadOnlyDictionary<string, Spread> b) =>
        a.Count == 0 || b.Count == 0 ? new SortedDictionary<string, Spread>(StringComparer.Ordinal) : UnionPairs(a, b);

    /// <summary>Merges the runs in <paramref name="runDir"/> (<c>NAME.N.json</c>, one JSON object each, as the C programs print) and the settings file.</summary>
    public static Fixtures Collect(string runDir, string settingsFile)
    {
        var kernel = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in File.ReadAllLines(settingsFile))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            // The run count is each program's own (ProgramFigures.Runs): a partial re-recording with another count
            // must not relabel the others.
            if (eq > 0 && line[..eq].Trim() != "runs")
                kernel[line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }
        var programs = new List<ProgramFigures>();
        foreach (var group in Directory.GetFiles(runDir, "*.json").Select(f => (Name: Path.GetFileName(f).Split('.')[0], File: f))
                     .GroupBy(x => x.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            // In run order: NAME.N.json by N (2 before 10).
            var runs = group.OrderBy(x => RunIndex(x.File)).ThenBy(x => x.File, StringComparer.Ordinal)
                .Select(x => JsonDocument.Parse(File.ReadAllText(x.File))).ToList();
            var phases = new List<PhaseFigures>();
            int nPhases = runs[0].RootElement.GetProperty("phases").GetArrayLength();
            for (int i = 0; i < nPhases; i++)
            {
                var ph = runs.Select(r => r.RootElement.GetProperty("phases")[i]).ToList();
                var vmaRuns = ph.Select(p => p.GetProperty("vmas").EnumerateArray().ToList()).ToList();
                var shapes = vmaRuns.Select(v => string.Join("|", v.Select(x => ShapeOf(x)))).Distinct().Count();
                bool stable = shapes == 1;
                var vmas = new List<VmaFigure>();
                if (stable)
                {
                    for (int v = 0; v < vmaRuns[0].Count; v++)
                    {
                        JsonElement first = vmaRuns[0][v];
                        vmas.Add(new VmaFigure(Hex(first.GetProperty("start").GetString()!), Hex(first.GetProperty("end").GetString()!),
                            first.GetProperty("perms").GetString()!, first.GetProperty("offset").GetInt64(), first.GetProperty("name").GetString()!,
                            Over(vmaRuns.Select(r => Num(r[v], "rss_kb"))), Over(vmaRuns.Select(r => Num(r[v], "anon_kb"))),
                            Over(vmaRuns.Select(r => Num(r[v], "swap_kb"))), Over(vmaRuns.Select(r => Num(r[v], "locked_kb"))))
                        {
                            Smaps = SmapsOver(vmaRuns.Select(r => r[v]).ToList()),
                            VmFlags = first.TryGetProperty("vmflags", out _) && vmaRuns.Select(r => r[v].GetProperty("vmflags").GetString()).Distinct().Count() == 1
                                ? first.GetProperty("vmflags").GetString() : null,
                        });
                    }
                }
                phases.Add(new PhaseFigures(ph[0].GetProperty("phase").GetString()!,
                    Over(ph.Select(p => p.GetProperty("minflt").GetInt64())), Over(ph.Select(p => p.GetProperty("majflt").GetInt64())),
                    ph[0].GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList(), stable, vmas,
                    Pairs(ph, "rollup"), Pairs(ph, "memstat"))
                {
                    MemInfo = ph[0].TryGetProperty("meminfo", out _) ? Pairs(ph, "meminfo") : new SortedDictionary<string, Spread>(StringComparer.Ordinal),
                    Memcg = ph[0].TryGetProperty("memcg", out _) ? Pairs(ph, "memcg") : new SortedDictionary<string, Spread>(StringComparer.Ordinal),
                    Pswp = PswpDeltas(runs, i),
                    PgpgDelta = PgpgDeltas(runs, i),
                    PgpgExec = PgpgExecs(runs, i),
                });
            }
            programs.Add(new ProgramFigures(group.Key, runs.Count, phases)
            {
                HarnessKb = runs.All(r => r.RootElement.GetProperty("phases")[0].GetProperty("rollup").TryGetProperty("Anonymous", out _))
                    ? runs.Select(r => HarnessKbOf(r.RootElement.GetProperty("phases")[0])).ToList() : null,
                Main = MainOf(runs),
            });
        }
        return new Fixtures { Kernel = kernel, Programs = programs };
    }

    /// <summary>
    /// The harness's anonymous footprint (kB) in one run's phase record: smaps_rollup's Anonymous + Swap (every anonymous
    /// page the process wrote, resident or swapped out) less those of the program's own VMAs (the kit's slots; the brk
    /// area is left in, as the scenario leaves it to the exec layout), all read in the same run.
    /// </summary>
    public static long HarnessKbOf(JsonElement phase)
    {
        JsonElement rollup = phase.GetProperty("rollup");
        long total = Num(rollup, "Anonymous") + Num(rollup, "Swap");
        foreach (JsonElement v in phase.GetProperty("vmas").EnumerateArray())
        {
            if (!VmaFigure.IsInHeapArea(Hex(v.GetProperty("start").GetString()!)))
                total -= Num(v, "anon_kb") + Num(v, "swap_kb");
        }
        return total;
    }

    /// <summary>The names of the /proc/vmstat counters a <c>swap</c> program records (<see cref="PhaseFigures.Pswp"/>).</summary>
    public static readonly string[] PswpKeys = ["pswpin", "pswpout"];

    /// <summary>
    /// <see cref="PhaseFigures.Pswp"/> of phase <paramref name="i"/>: in each run, its phase record's <c>vmstat</c> less
    /// the previous phase's (the run's <c>vmstat0</c>, read before the first phase, for the first); empty when the runs
    /// did not record them.
    /// </summary>
    public static SortedDictionary<string, Spread> PswpDeltas(IReadOnlyList<JsonDocument> runs, int i)
    {
        var d = new SortedDictionary<string, Spread>(StringComparer.Ordinal);
        if (!runs.All(r => r.RootElement.TryGetProperty("vmstat0", out _) && r.RootElement.GetProperty("phases")[i].TryGetProperty("vmstat", out _)))
            return d;
        foreach (string key in PswpKeys)
        {
            d[key] = Over(runs.Select(r =>
            {
                JsonElement phases = r.RootElement.GetProperty("phases");
                JsonElement before = i == 0 ? r.RootElement.GetProperty("vmstat0") : phases[i - 1].GetProperty("vmstat");
                return Num(phases[i].GetProperty("vmstat"), key) - Num(before, key);
            }));
        }
        return d;
    }

    /// <summary>
    /// <see cref="PhaseFigures.PgpgDelta"/> of phase <paramref name="i"/>: in each run, its memory.stat pgpgin and pgpgout
    /// less the previous phase's; empty for the first phase and when the runs read no memory.stat.
    /// </summary>
    public static SortedDictionary<string, Spread> PgpgDeltas(IReadOnlyList<JsonDocument> runs, int i)
    {
        var d = new SortedDictionary<string, Spread>(StringComparer.Ordinal);
        if (i == 0 || !runs.All(r => r.RootElement.GetProperty("phases")[i].GetProperty("memstat").TryGetProperty("pgpgin", out _)))
            return d;
        foreach (string key in PgpgKeys)
        {
            d[key] = Over(runs.Select(r =>
            {
                JsonElement phases = r.RootElement.GetProperty("phases");
                return Num(phases[i].GetProperty("memstat"), key) - Num(phases[i - 1].GetProperty("memstat"), key);
            }));
        }
        return d;
    }

    /// <summary>
    /// The pages record.sh's exec chain (sh, env, setarch, the program's exec: each exec frees the image before it) charged
    /// to the group and uncharged again before main, in one run's memory.stat at main's entry (<c>main</c>): pgpgin less
    /// the pages still charged (<c>rss</c> and <c>cache</c>). Taken from pgpgin, not pgpgout: a memory.stat read flushes
    /// the per-CPU statistics only above MEMCG_CHARGE_BATCH × CPUs pending updates, and the chain's last uncharges were
    /// still pending at main's entry in 2 of 2 trial runs (pgpgout 46 and 42 where pgpgin − rss − cache gave 53 and 52;
    /// oracle/experiments/pgpg-start, README.md).
    /// </summary>
    public static long ChainOf(JsonElement main) =>
        Num(main, "pgpgin") - (Num(main, "rss") / ProgramPlan.PageSize) - (Num(main, "cache") / ProgramPlan.PageSize);

    /// <summary>
    /// One run's memory.stat pgpgin and pgpgout at a phase's end counted from the program's exec: less the exec chain's
    /// events (<see cref="ChainOf"/>), and pgpgin less the page-cache pages charged before main too (they stay charged;
    /// an uncharge of one later is in pgpgout). What stays: the program's own charges since its exec (the anonymous pages
    /// resident at main's entry included, which the scenario's prelude writes) and uncharges.
    /// </summary>
    public static (long In, long Out) PgpgExecOf(JsonElement main, JsonElement memstat)
    {
        long chain = ChainOf(main);
        return (Num(memstat, "pgpgin") - chain - (Num(main, "cache") / ProgramPlan.PageSize), Num(memstat, "pgpgout") - chain);
    }

    /// <summary><see cref="PhaseFigures.PgpgExec"/> of phase <paramref name="i"/>; empty when a run has no <c>main</c> reading.</summary>
    public static SortedDictionary<string, Spread> PgpgExecs(IReadOnlyList<JsonDocument> runs, int i)
    {
        var d = new SortedDictionary<string, Spread>(StringComparer.Ordinal);
        if (!runs.All(r => r.RootElement.TryGetProperty("main", out JsonElement m) && Num(m, "pgpgin") >= 0
                && r.RootElement.GetProperty("phases")[i].GetProperty("memstat").TryGetProperty("pgpgin", out _)))
            return d;
        var each = runs.Select(r => PgpgExecOf(r.RootElement.GetProperty("main"), r.RootElement.GetProperty("phases")[i].GetProperty("memstat"))).ToList();
        d["pgpgin"] = Over(each.Select(x => x.In));
        d["pgpgout"] = Over(each.Select(x => x.Out));
        return d;
    }

    /// <summary><see cref="ProgramFigures.Main"/> over the runs; empty when a run has no <c>main</c> reading.</summary>
    private static SortedDictionary<string, Spread> MainOf(IReadOnlyList<JsonDocument> runs)
    {
        var d = new SortedDictionary<string, Spread>(StringComparer.Ordinal);
        if (!runs.All(r => r.RootElement.TryGetProperty("main", out JsonElement m) && Num(m, "pgpgin") >= 0))
            return d;
        foreach (string key in new[] { "cache", "rss", "pgpgin", "pgpgout" })
            d[key] = Over(runs.Select(r => Num(r.RootElement.GetProperty("main"), key)));
        d["chain"] = Over(runs.Select(r => ChainOf(r.RootElement.GetProperty("main"))));
        return d;
    }

    /// <summary>memory.stat's cgroup v1 events compared by the kit (<see cref="PhaseFigures.PgpgDelta"/>).</summary>
    public static readonly string[] PgpgKeys = ["pgpgin", "pgpgout"];

    private static long RunIndex(string file)
    {
        string[] parts = Path.GetFileName(file).Split('.');
        return parts.Length >= 3 && long.TryParse(parts[^2], NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : 0;
    }

    private static string ShapeOf(JsonElement v)
    {
        ulong s = Hex(v.GetProperty("start").GetString()!), e = Hex(v.GetProperty("end").GetString()!);
        return new VmaFigure(s, e, v.GetProperty("perms").GetString()!, v.GetProperty("offset").GetInt64(), v.GetProperty("name").GetString()!,
            default, default, default, default).Shape;
    }

    /// <summary>The "smaps.KEY" figures of one VMA over the runs (null when the program did not record them).</summary>
    private static SortedDictionary<string, Spread>? SmapsOver(List<JsonElement> runs)
    {
        const string prefix = "smaps.";
        var keys = runs[0].EnumerateObject().Select(p => p.Name).Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (keys.Count == 0)
            return null;
        var d = new SortedDictionary<string, Spread>(StringComparer.Ordinal);
        foreach (string key in keys)
            d[key[prefix.Length..]] = Over(runs.Select(r => Num(r, key)));
        return d;
    }

    private static long Num(JsonElement e, string key) => e.TryGetProperty(key, out JsonElement v) ? v.GetInt64() : 0;

    private static Spread Over(IEnumerable<long> values)
    {
        long min = long.MaxValue, max = long.MinValue;
        foreach (long v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        return new Spread(min, max);
    }

    private static SortedDictionary<string, Spread> Pairs(List<JsonElement> phases, string key)
    {
        var d = new SortedDictionary<string, Spread>(StringComparer.Ordinal);
        foreach (JsonProperty p in phases[0].GetProperty(key).EnumerateObject())
            d[p.Name] = Over(phases.Select(ph => ph.GetProperty(key).TryGetProperty(p.Name, out JsonElement v) ? v.GetInt64() : 0));
        return d;
    }

    private static ulong Hex(string s) => ulong.Parse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>The fixtures file's text (stable key order, indented).</summary>
    public string ToJson()
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("kernel");
            foreach (var (k, v) in Kernel)
                w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteStartArray("programs");
            foreach (ProgramFigures p in Programs)
            {
                w.WriteStartObject();
                w.WriteString("name", p.Name);
                w.WriteNumber("runs", p.Runs);
                if (p.HarnessKb is { } hk)
                {
                    w.WriteStartArray("harness_kb");
                    foreach (long v in hk)
                        w.WriteNumberValue(v);
                    w.WriteEndArray();
                }
                // Only the memcg programs recorded since session 22 have it.
                if (p.Main.Count > 0)
                    WritePairs(w, "main", p.Main);
                w.WriteStartArray("phases");
                foreach (PhaseFigures ph in p.Phases)
                {
                    w.WriteStartObject();
                    w.WriteString("name", ph.Name);
                    Write(w, "minflt", ph.MinFlt);
                    Write(w, "majflt", ph.MajFlt);
                    w.WriteStartArray("errors");
                    foreach (string e in ph.Errors)
                        w.WriteStringValue(e);
                    w.WriteEndArray();
                    w.WriteBoolean("vmas_stable", ph.VmasStable);
                    w.WriteStartArray("vmas");
                    foreach (VmaFigure v in ph.Vmas)
                    {
                        w.WriteStartObject();
                        w.WriteString("start", "0x" + v.Start.ToString("x", CultureInfo.InvariantCulture));
                        w.WriteString("end", "0x" + v.End.ToString("x", CultureInfo.InvariantCulture));
                        w.WriteString("perms", v.Perms);
                        w.WriteNumber("offset", v.Offset);
                        w.WriteString("name", v.Name);
                        Write(w, "rss_kb", v.RssKb);
                        Write(w, "anon_kb", v.AnonKb);
                        Write(w, "swap_kb", v.SwapKb);
                        Write(w, "locked_kb", v.LockedKb);
                        if (v.Smaps is { } sm)
                            WritePairs(w, "smaps", sm);
                        if (v.VmFlags is { } vf)
                            w.WriteString("vmflags", vf);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    WritePairs(w, "rollup", ph.Rollup);
                    WritePairs(w, "memstat", ph.MemStat);
                    // Only the hugetlb programs record it (kept out of the others' entries so they stay as recorded).
                    if (ph.MemInfo.Count > 0 && ph.MemInfo.Values.Any(v => v.Max > 0))
                        WritePairs(w, "meminfo", ph.MemInfo);
                    if (ph.Memcg.Count > 0)
                        WritePairs(w, "memcg", ph.Memcg);
                    // Only the swap programs recorded since session 21 have it.
                    if (ph.Pswp.Count > 0)
                        WritePairs(w, "pswp", ph.Pswp);
                    if (ph.PgpgDelta.Count > 0)
                        WritePairs(w, "pgpg_delta", ph.PgpgDelta);
                    if (ph.PgpgExec.Count > 0)
                        WritePairs(w, "pgpg_exec", ph.PgpgExec);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static void Write(Utf8JsonWriter w, string key, Spread s)
    {
        w.WriteStartArray(key);
        w.WriteNumberValue(s.Min);
        w.WriteNumberValue(s.Max);
        w.WriteEndArray();
    }

    private static void WritePairs(Utf8JsonWriter w, string key, IReadOnlyDictionary<string, Spread> d)
    {
        w.WriteStartObject(key);
        foreach (var (k, v) in d)
            Write(w, k, v);
        w.WriteEndObject();
    }

    /// <summary>Reads a fixtures file written by <see cref="ToJson"/>.</summary>
    public static Fixtures Load(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement root = doc.RootElement;
        var kernel = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (JsonProperty p in root.GetProperty("kernel").EnumerateObject())
            kernel[p.Name] = p.Value.GetString()!;
        var programs = new List<ProgramFigures>();
        foreach (JsonElement p in root.GetProperty("programs").EnumerateArray())
        {
            var phases = new List<PhaseFigures>();
            foreach (JsonElement ph in p.GetProperty("phases").EnumerateArray())
            {
                var vmas = ph.GetProperty("vmas").EnumerateArray().Select(v => new VmaFigure(
                    Hex(v.GetProperty("start").GetString()!), Hex(v.GetProperty("end").GetString()!), v.GetProperty("perms").GetString()!,
                    v.GetProperty("offset").GetInt64(), v.GetProperty("name").GetString()!, Sp(v, "rss_kb"), Sp(v, "anon_kb"), Sp(v, "swap_kb"), Sp(v, "locked_kb"))
                {
                    Smaps = v.TryGetProperty("smaps", out JsonElement sm) ? ReadPairs(sm) : null,
                    VmFlags = v.TryGetProperty("vmflags", out JsonElement vf) ? vf.GetString() : null,
                }).ToList();
                phases.Add(new PhaseFigures(ph.GetProperty("name").GetString()!, Sp(ph, "minflt"), Sp(ph, "majflt"),
                    ph.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList(), ph.GetProperty("vmas_stable").GetBoolean(), vmas,
                    ReadPairs(ph.GetProperty("rollup")), ReadPairs(ph.GetProperty("memstat")))
                {
                    MemInfo = ph.TryGetProperty("meminfo", out JsonElement mi) ? ReadPairs(mi) : new SortedDictionary<string, Spread>(StringComparer.Ordinal),
                    Memcg = ph.TryGetProperty("memcg", out JsonElement mc) ? ReadPairs(mc) : new SortedDictionary<string, Spread>(StringComparer.Ordinal),
                    Pswp = ph.TryGetProperty("pswp", out JsonElement sw) ? ReadPairs(sw) : new SortedDictionary<string, Spread>(StringComparer.Ordinal),
                    PgpgDelta = ph.TryGetProperty("pgpg_delta", out JsonElement pd) ? ReadPairs(pd) : new SortedDictionary<string, Spread>(StringComparer.Ordinal),
                    PgpgExec = ph.TryGetProperty("pgpg_exec", out JsonElement pe) ? ReadPairs(pe) : new SortedDictionary<string, Spread>(StringComparer.Ordinal),
                });
            }
            programs.Add(new ProgramFigures(p.GetProperty("name").GetString()!, p.GetProperty("runs").GetInt32(), phases)
            {
                HarnessKb = p.TryGetProperty("harness_kb", out JsonElement hk) ? hk.EnumerateArray().Select(x => x.GetInt64()).ToList() : null,
                Main = p.TryGetProperty("main", out JsonElement mn) ? ReadPairs(mn) : new SortedDictionary<string, Spread>(StringComparer.Ordinal),
            });
        }
        return new Fixtures { Kernel = kernel, Programs = programs };
    }

    private static Spread Sp(JsonElement e, string key)
    {
        JsonElement a = e.GetProperty(key);
        return new Spread(a[0].GetInt64(), a[1].GetInt64());
    }

    private static SortedDictionary<string, Spread> ReadPairs(JsonElement e)
    {
        var d = new SortedDictionary<string, Spread>(StringComparer.Ordinal);
        foreach (JsonProperty p in e.EnumerateObject())
            d[p.Name] = new Spread(p.Value[0].GetInt64(), p.Value[1].GetInt64());
        return d;
    }
}
