using System.Globalization;
using System.Text;
using EcsMem.Diagnostics;

namespace EcsMem.Oracle;

/// <summary>A row of oracle/known-gaps.md: why the program differs, and how far its worst figure is outside the kernel's spread.</summary>
public sealed record KnownGap(string Reason, double Worst)
{
    /// <summary><see cref="ProgramResult.WorstOutside"/> as the row writes it: two decimals, or ∞.</summary>
    public static string Format(double worst) => double.IsPositiveInfinity(worst) ? "∞" : worst.ToString("0.00", CultureInfo.InvariantCulture);
}

/// <summary>One program held against the kernel: what EcsMem did and where it differs.</summary>
public sealed record ProgramResult(PhaseProgram Program, ProgramFigures? Kernel, IReadOnlyList<Unsupported> LeftOut,
    IReadOnlyList<SimPhase>? Sim, IReadOnlyList<string> Differences)
{
    /// <summary>Expressible, recorded, and equal to the kernel figures (exact where they were, within the spread otherwise).</summary>
    public bool Agrees => LeftOut.Count == 0 && Kernel is not null && Differences.Count == 0;

    /// <summary>
    /// The largest <see cref="Spread.Outside"/> over <see cref="Differences"/>: how far the worst figure lies outside the
    /// kernel's spread, in widths of that spread; infinity for a difference that is not a number (phases, results,
    /// VMA shapes, VmFlags, a missing smaps field), 0 when nothing differs.
    /// </summary>
    public double WorstOutside { get; init; }
}

/// <summary>The kit as a whole: programs, their plans, scenarios, simulation, comparison, known gaps, README table.</summary>
public static class Kit
{
    /// <summary>The repository's <c>oracle/</c> folder, found from <paramref name="start"/> upwards.</summary>
    public static string OracleDir(string start)
    {
        for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EcsMem.sln")))
                return Path.Combine(d.FullName, "oracle");
        throw new DirectoryNotFoundException("no EcsMem.sln above " + start);
    }

    /// <summary>Generates, runs and compares one program (the simulation only when it is fully expressible).</summary>
    public static ProgramResult Evaluate(PhaseProgram program, Fixtures fixtures, string scratchDir)
    {
        var plan = new ProgramPlan(program);
        GeneratedScenario sc = ScenarioGenerator.Generate(plan);
        ProgramFigures? kernel = fixtures.Find(program.Name);
        if (sc.LeftOut.Count > 0)
            return new ProgramResult(program, kernel, sc.LeftOut, null, []);
        if (sc.Moves.Count > 0)
            plan = new ProgramPlan(program, sc.Moves); // the phases' windows follow the moved regions
        IReadOnlyList<SimPhase> sim = SimulationRun.Run(plan, sc, Path.Combine(scratchDir, program.Name));
        if (kernel is null)
            return new ProgramResult(program, kernel, sc.LeftOut, sim, ["not recorded"]) { WorstOutside = double.PositiveInfinity };
        List<string> diffs = Compare(kernel, sim, out double worst);
        return new ProgramResult(program, kernel, sc.LeftOut, sim, diffs) { WorstOutside = worst };
    }

    /// <summary>
    /// The differences between the kernel's figures and EcsMem's: per phase min_flt and maj_flt (inside the recorded
    /// [min, max], which is exact when the kernel was deterministic), the results of the calls made with
    /// <c>expect</c> (ENOMEM or ok), under a memcg memory.stat's pgpgin and pgpgout at the phase's end (and over the
    /// phase where the runs' differences were recorded), for a swap program /proc/vmstat's pswpin and pswpout over the
    /// phase (where recorded), and, where the VMAs were the same in every run, their number, shape (address
    /// outside the brk area, size, protections, offset, name) and Rss/Swap/Locked.
    /// </summary>
    public static List<string> Compare(ProgramFigures kernel, IReadOnlyList<SimPhase> sim) => Compare(kernel, sim, out _);

    /// <summary>
    /// <see cref="Compare(ProgramFigures, IReadOnlyList{SimPhase})"/>, and how far the worst differing figure lies outside
    /// its spread (<see cref="ProgramResult.WorstOutside"/>).
    /// </summary>
    public static List<string> Compare(ProgramFigures kernel, IReadOnlyList<SimPhase> sim, out double worst)
    {
        var diffs = new List<string>();
        double w = 0;
        // A figure outside its spread: the text, and how far out it is. Not a number: infinitely far.
        void Out(string text, Spread spread, long v)
        {
            diffs.Add(text);
            w = Math.Max(w, spread.Outside(v));
        }
        void Other(string text)
        {
            diffs.Add(text);
            w = double.PositiveInfinity;
        }
        if (kernel.Phases.Count != sim.Count)
        {
            Other($"{kernel.Phases.Count} phases recorded, {sim.Count} simulated");
            worst = w;
            return diffs;
        }
        for (int i = 0; i < sim.Count; i++)
        {
            PhaseFigures kp = kernel.Phases[i];
            SimPhase sp = sim[i];
            if (!kp.MinFlt.Contains(sp.MinFlt))
                Out($"{kp.Name}: minflt {sp.MinFlt}, kernel {kp.MinFlt}", kp.MinFlt, sp.MinFlt);
            if (!kp.MajFlt.Contains(sp.MajFlt))
                Out($"{kp.Name}: majflt {sp.MajFlt}, kernel {kp.MajFlt}", kp.MajFlt, sp.MajFlt);
            if (sp.Errors is { } errs && !errs.SequenceEqual(kp.Errors))
                Other($"{kp.Name}: results [{string.Join(", ", errs)}], kernel [{string.Join(", ", kp.Errors)}]");
            // smaps_rollup's AnonHugePages: only the program's own THP regions have any (ld.so, libc and the harness
            // get no huge pages in madvise mode), so unlike the rest of the rollup it is compared.
            if (kp.Rollup.TryGetValue("AnonHugePages", out Spread thp) && !thp.Contains(sp.AnonHugePagesKb))
                Out($"{kp.Name}: AnonHugePages {sp.AnonHugePagesKb} kB, kernel {thp} kB", thp, sp.AnonHugePagesKb);
            // The hugetlb pool's counts (machine-wide, recorded by the hugetlb programs only).
            foreach (var (key, spread) in kp.MemInfo)
                if (sp.HugePages is { } pool && pool.TryGetValue(key, out long v) && !spread.Contains(v))
                    Out($"{kp.Name}: {key} {v}, kernel {spread}", spread, v);
            // The memory cgroup's OOM kills; and, in a phase that ended in one, its peak usage (the group stood at its
            // limit). The peak of the other phases depends on the harness's footprint, which the scenario models only
            // in part, and failcnt on the per-CPU charge batches and retries EcsMem does not model: not compared.
            if (sp.Memcg is { } mc && kp.Memcg.TryGetValue("oom_kill", out Spread kills))
            {
                if (!kills.Contains(mc["oom_kill"]))
                    Out($"{kp.Name}: memcg oom_kill {mc["oom_kill"]}, kernel {kills}", kills, mc["oom_kill"]);
                if (kills.Min > 0 && kp.Memcg.TryGetValue("max_usage_in_bytes", out Spread peak) && !peak.Contains(mc["max_usage_in_bytes"]))
                    Out($"{kp.Name}: memcg max_usage_in_bytes {mc["max_usage_in_bytes"]}, kernel {peak}", peak, mc["max_usage_in_bytes"]);
            }
            // /proc/vmstat's pswpin and pswpout over the phase (a swap program recorded since session 21), inside the runs' [min, max].
            if (sp.Pswp is { } sw)
            {
                foreach (var (key, spread) in kp.Pswp)
                {
                    if (sw.TryGetValue(key, out long mine) && !spread.Contains(mine))
                        Out($"{kp.Name}: {key} {mine}, kernel {spread}", spread, mine);
                }
            }
            // cgroup v1's memory.stat pgpgin and pgpgout at the phase's end: the group's charge and uncharge events (one a
            // folio), inside the runs' [min, max]: counted from the program's exec where the runs read memory.stat at
            // main's entry (PhaseFigures.PgpgExec), else since the group was made (cumulative, with the exec chain's
            // events added to EcsMem's: HarnessFootprint.ExecChainPgpg).
            if (sp.Memcg is { } ms)
            {
                foreach (string key in Fixtures.PgpgKeys)
                {
                    if (kp.PgpgExec.Count > 0)
                    {
                        if (kp.PgpgExec.TryGetValue(key, out Spread kexec) && ms.TryGetValue(key + "_exec", out long own) && !kexec.Contains(own))
                            Out($"{kp.Name}: memory.stat {key} since exec {own}, kernel {kexec}", kexec, own);
                    }
                    else if (kp.MemStat.TryGetValue(key, out Spread kstat) && ms.TryGetValue(key, out long mine) && !kstat.Contains(mine))
                        Out($"{kp.Name}: memory.stat {key} {mine}, kernel {kstat}", kstat, mine);
                    // ... and over the phase (the runs' own differences, where recorded).
                    if (i > 0 && kp.PgpgDelta.TryGetValue(key, out Spread kd) && sim[i - 1].Memcg is { } prev && ms.TryGetValue(key, out long now)
                        && !kd.Contains(now - prev[key]))
                        Out($"{kp.Name}: memory.stat {key} over the phase {now - prev[key]}, kernel {kd}", kd, now - prev[key]);
                }
            }
            if (!kp.VmasStable)
                continue;
            string ks = string.Join("; ", kp.Vmas.Select(v => v.Shape)), ss = string.Join("; ", sp.Vmas.Select(v => v.Shape));
            if (ks != ss)
            {
                Other($"{kp.Name}: VMAs [{ss}], kernel [{ks}]");
                continue;
            }
            for (int v = 0; v < kp.Vmas.Count; v++)
            {
                if (!kp.Vmas[v].RssKb.Contains(sp.Vmas[v].RssKb.Min))
                    Out($"{kp.Name}: VMA {v} Rss {sp.Vmas[v].RssKb.Min} kB, kernel {kp.Vmas[v].RssKb} kB", kp.Vmas[v].RssKb, sp.Vmas[v].RssKb.Min);
                if (!kp.Vmas[v].SwapKb.Contains(sp.Vmas[v].SwapKb.Min))
                    Out($"{kp.Name}: VMA {v} Swap {sp.Vmas[v].SwapKb.Min} kB, kernel {kp.Vmas[v].SwapKb} kB", kp.Vmas[v].SwapKb, sp.Vmas[v].SwapKb.Min);
                if (!kp.Vmas[v].LockedKb.Contains(sp.Vmas[v].LockedKb.Min))
                    Out($"{kp.Name}: VMA {v} Locked {sp.Vmas[v].LockedKb.Min} kB, kernel {kp.Vmas[v].LockedKb} kB", kp.Vmas[v].LockedKb, sp.Vmas[v].LockedKb.Min);
                // A program that records smaps: every field of the entry (exact where the kernel was, within its spread
                // otherwise) and the VmFlags mnemonics.
                if (kp.Vmas[v].Smaps is { } kf && sp.Vmas[v].Smaps is { } sf)
                {
                    foreach (var (key, spread) in kf)
                    {
                        if (!sf.TryGetValue(key, out Spread mine))
                            Other($"{kp.Name}: VMA {v} smaps {key} missing, kernel {spread}");
                        else if (!spread.Contains(mine.Min))
                            Out($"{kp.Name}: VMA {v} smaps {key} {mine.Min}, kernel {spread}", spread, mine.Min);
                    }
                    if (kp.Vmas[v].VmFlags is { } kvf && kvf != sp.Vmas[v].VmFlags)
                        Other($"{kp.Name}: VMA {v} VmFlags [{sp.Vmas[v].VmFlags}], kernel [{kvf}]");
                }
            }
        }
        worst = w;
        return diffs;
    }

    /// <summary>
    /// <c>oracle/known-gaps.md</c>: the table rows <c>| program | worst | reason |</c> of programs EcsMem is known not to
    /// match yet: how far its worst figure lies outside the kernel's spread (<see cref="ProgramResult.WorstOutside"/>, two
    /// decimals, <c>∞</c> for a difference that is not a number) and the reason, naming the missing mechanism and its
    /// issue item. A row whose worst cell is not such a number is refused, naming the file, the line and the cell.
    /// </summary>
    public static IReadOnlyDictionary<string, KnownGap> KnownGaps(string path)
    {
        var d = new Dictionary<string, KnownGap>(StringComparer.Ordinal);
        string[] lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            string[] cells = line.Split('|', StringSplitOptions.TrimEntries);
            if (!line.StartsWith('|') || cells.Length < 3 || cells[1] is "program" || cells[1].StartsWith("---", StringComparison.Ordinal))
                continue;
            // A row of another shape (a row from before the worst column, a bar in a reason) would drop its program
            // from the list silently: refused instead.
            if (cells.Length != 5)
                throw new InputException(path, i + 1, cells[1], $"a known gap's row has three cells, | program | worst | reason |, this one {cells.Length - 2}");
            double worst = cells[2] == "∞" ? double.PositiveInfinity
                : double.TryParse(cells[2], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double x) ? x
                : throw new InputException(path, i + 1, cells[2], "the worst cell must be a number of spreads outside, like 0.13, or ∞");
            d[cells[1].Trim('`')] = new KnownGap(cells[3], worst);
        }
        return d;
    }

    public const string TableBegin = "<!-- oracle-table:begin (generated by `dotnet run --project oracle/Ecs.Mem.Oracle -- table --write`; do not edit) -->";
    public const string TableEnd = "<!-- oracle-table:end -->";

    /// <summary>How many runs the programs were recorded with: the usual count, and the programs recorded with another.</summary>
    public static string RunsText(Fixtures fixtures)
    {
        if (fixtures.Programs.Count == 0)
            return "no runs";
        var byRuns = fixtures.Programs.GroupBy(p => p.Runs).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).ToList();
        string text = $"{byRuns[0].Key} runs per program";
        var others = byRuns.Skip(1).OrderBy(g => g.Key).Select(g => $"{g.Key}: {string.Join(", ", g.Select(p => p.Name))}").ToList();
        return others.Count == 0 ? text : text + " (" + string.Join("; ", others) + ")";
    }

    /// <summary>The README's table: each program, the kernel's per-phase min_flt/maj_flt, EcsMem's, and the agreement.</summary>
    public static string Table(Fixtures fixtures, IReadOnlyList<ProgramResult> results, IReadOnlyDictionary<string, KnownGap> gaps)
    {
        var sb = new StringBuilder();
        var k = fixtures.Kernel;
        string Get(string key) => k.TryGetValue(key, out string? v) ? v : "?";
        sb.Append(
            $"Kernel {Get("uname_r")}, THP {Get("thp_enabled")} (defrag {Get("thp_defrag")}), read_ahead_kb {Get("read_ahead_kb")}, " +
            $"fault_around_bytes {Get("fault_around_bytes")} ({Get("fault_around_source")}), page-cluster {Get("page_cluster")}, " +
            $"swappiness {Get("swappiness")}, overcommit_memory {Get("overcommit_memory")}; {RunsText(fixtures)}, recorded {Get("recorded")}. " +
            "Each cell lists the phases as `phase minflt/majflt`, under a memcg with `pgpg IN/OUT` (memory.stat's cgroup v1 " +
            "pgpgin/pgpgout at the phase's end: counted from the program's exec for a program recorded since session 22, which reads " +
            "memory.stat at main's entry, cumulative before) and, for a swap program recorded since session 21, `pswp IN/OUT` (/proc/vmstat's " +
            "pswpin/pswpout over the phase); a range is the kernel's spread over the runs.\n\n");
        sb.Append("| program | kernel | EcsMem | agreement |\n|---|---|---|---|\n");
        int agree = 0;
        foreach (ProgramResult r in results)
        {
            string kernel = r.Kernel is null ? "not recorded" : string.Join(" · ", r.Kernel.Phases.Select(p => $"{p.Name} {p.MinFlt}/{p.MajFlt}" + KernelCounts(p)));
            string sim = r.Sim is null ? "—" : string.Join(" · ", r.Sim.Select((p, i) => $"{p.Name} {p.MinFlt:N0}/{p.MajFlt:N0}" +
                SimCounts(p, r.Kernel is { } kf && i < kf.Phases.Count ? kf.Phases[i] : null)));
            string verdict;
            if (r.LeftOut.Count > 0)
                verdict = "not expressible yet: " + string.Join(", ", r.LeftOut.Select(u => u.Mechanism).Distinct());
            else if (r.Agrees)
            {
                agree++;
                verdict = r.Kernel!.Phases.All(p => p.MinFlt.Exact && p.MajFlt.Exact) ? "**equal**" : "**within the spread**";
            }
            else
                verdict = "differs (" + r.Differences[0] + (r.Differences.Count > 1 ? $"; +{r.Differences.Count - 1} more" : "")
                          + $"; the worst figure {KnownGap.Format(r.WorstOutside)} spreads outside the kernel's)" +
                          // The reason's history (each session's figures) stays in known-gaps.md: repeated here it made the
                          // README's kit table most of the README.
                          (gaps.ContainsKey(r.Program.Name) ? ", a known gap: why and what was measured in [oracle/known-gaps.md](oracle/known-gaps.md)" : "");
            sb.Append(CultureInfo.InvariantCulture, $"| `{r.Program.Name}` | {kernel} | {sim} | {verdict} |\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"\n{agree} of {results.Count} programs agree.\n");
        return sb.ToString();
    }

    /// <summary>A kernel phase's memory.stat pgpgin/pgpgout (under a memcg) and pswpin/pswpout (where recorded) for the table.</summary>
    private static string KernelCounts(PhaseFigures p)
    {
        string s = "";
        if (p.PgpgExec.TryGetValue("pgpgin", out Spread ein) && p.PgpgExec.TryGetValue("pgpgout", out Spread eout))
            s += $" pgpg {ein}/{eout}";
        else if (p.MemStat.TryGetValue("pgpgin", out Spread pin) && p.MemStat.TryGetValue("pgpgout", out Spread pout))
            s += $" pgpg {pin}/{pout}";
        if (p.Pswp.TryGetValue("pswpin", out Spread sin) && p.Pswp.TryGetValue("pswpout", out Spread sout))
            s += $" pswp {sin}/{sout}";
        return s;
    }

    /// <summary>EcsMem's figures for the same columns as <see cref="KernelCounts"/> (shown where the kernel's are).</summary>
    private static string SimCounts(SimPhase p, PhaseFigures? k)
    {
        string s = "";
        string suffix = k is not null && k.PgpgExec.Count > 0 ? "_exec" : "";
        if (k is not null && k.MemStat.ContainsKey("pgpgin") && p.Memcg is { } mc && mc.TryGetValue("pgpgin" + suffix, out long pin) && mc.TryGetValue("pgpgout" + suffix, out long pout))
            s += string.Create(CultureInfo.InvariantCulture, $" pgpg {pin:N0}/{pout:N0}");
        if (k is not null && k.Pswp.Count > 0 && p.Pswp is { } sw)
            s += string.Create(CultureInfo.InvariantCulture, $" pswp {sw["pswpin"]:N0}/{sw["pswpout"]:N0}");
        return s;
    }

    /// <summary>The README with its table section replaced by <paramref name="table"/>.</summary>
    public static string WithTable(string readme, string table)
    {
        int b = readme.IndexOf(TableBegin, StringComparison.Ordinal);
        int e = readme.IndexOf(TableEnd, StringComparison.Ordinal);
        if (b < 0 || e < b)
            throw new InvalidOperationException("README.md has no oracle table markers");
        return readme[..(b + TableBegin.Length)] + "\n" + table + readme[e..];
    }

    /// <summary>The table section currently in the README (between the markers), or null.</summary>
    public static string? TableIn(string readme)
    {
        int b = readme.IndexOf(TableBegin, StringComparison.Ordinal);
        int e = readme.IndexOf(TableEnd, StringComparison.Ordinal);
        return b < 0 || e < b ? null : readme[(b + TableBegin.Length + 1)..e];
    }
}
