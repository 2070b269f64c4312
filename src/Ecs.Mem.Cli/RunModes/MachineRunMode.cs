using System.Globalization;
using EcsMem.Diagnostics;
using EcsMem.Scenarios;
using EcsMem.Systems.Events;
using EcsMem.Systems.Kernel;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Policies;
using EcsMem.Systems.Reporting;
using EcsMem.Systems.Reporting.Html;
using EcsMem.Traces;
using TraceFormat = EcsMem.Scenarios.TraceFormat;

namespace EcsMem.Cli.RunModes;

/// <summary>
/// <c>ecsmem run [SCENARIO.yaml | --trace FILE ...]</c>: the full machine (the default run mode). Builds the
/// machine from the embedded default scenario, a scenario file, or one process replaying a trace with an
/// inferred layout; runs it to the end (or to Ctrl-C); prints the report as text or JSON; writes the timeline
/// CSV and plot. Every output file is written to a temporary name and renamed at the end, so a failed or
/// interrupted run never leaves half a file. See docs/report.md.
/// </summary>
public sealed class MachineRunMode : IRunMode
{
    /// <summary>Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it); the partial report is still printed. SIGTERM gives 143.</summary>
    public const int ExitInterrupted = InterruptSignal.ExitSigint;

    /// <summary>Exit code when <c>--check</c> finds the simulator's state inconsistent (a simulator bug, not bad input).</summary>
    public const int ExitInvariantViolated = 3;

    /// <summary>Default accesses between timeline rows.</summary>
    public const long DefaultTimelineEvery = 10_000;

    /// <summary>Non-empty PTE-level entries embedded per process and snapshot in the --html page.</summary>
    public const int HtmlPageTableEntryCap = 2048;

    public string? SelectorFlag => null;

    public string Summary => "full machine: demand paging, page cache, swap, reclaim, TLBs, caches, scheduler";

    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        OptionSpec.Value("--trace", "FILE", "one process replaying a trace, its layout inferred from its addresses (instead of a scenario); - for standard input"),
        OptionSpec.Value("--trace-format", "F", "lackey, pinatrace, pages, binary, champsim, cloudsuite, oracleGeneral, csv or auto (default: detected from the content)"),
        OptionSpec.Value("--mem", "SIZE", "RAM, overriding the scenario's (trace runs default to 64M RAM, no swap)"),
        OptionSpec.Value("--swap", "SIZE", "swap space, overriding the scenario's"),
        OptionSpec.Value("--policy", "NAME", "replacement policy: " + string.Join(", ", PolicyRegistry.Names) + " (opt only with --ideal)") with { Completions = PolicyRegistry.Names.ToArray() },
        OptionSpec.Value("--paging", "MODE", "x86, x86-64 or x86-64-la57") with { Completions = ["x86", "x86-64", "x86-64-la57"] },
        OptionSpec.Value("--quantum", "N", "scheduler quantum in accesses"),
        OptionSpec.Value("--seed", "S", "seed of every random choice (the scenario's by default)"),
        OptionSpec.Value("--batch", "N", "accesses per tick: a performance knob (the output does not depend on it)"),
        OptionSpec.Flag("--check", "verify after every tick what it changed, and all kernel invariants every K ticks and at the end; exit 3 on a violation"),
        OptionSpec.Value("--check-every", "K", "full invariant check every K ticks (default 1000; 1 = all every tick); needs --check"),
        OptionSpec.Flag("--json", "the report as JSON (docs/schemas/report.schema.json) instead of text"),
        OptionSpec.Value("--timeline", "FILE.csv", "free frames, swap and RSS per process over accesses, as CSV"),
        OptionSpec.Value("--timeline-every", "K", "accesses between timeline rows (default 10000); needs --timeline or --plot"),
        OptionSpec.Value("--plot", "FILE.png|.svg", "the timeline as a plot: RAM, free frames, swap and RSS per process, and faults per interval, over accesses"),
        OptionSpec.Value("--snapshot", "WHEN", "N cycles, Na after N accesses, peak (least free memory; the default), end, or none: each live process's mm_struct, VMAs, smaps_rollup, /proc/meminfo, buddyinfo, zoneinfo and vmstat") with { Repeatable = true },
        OptionSpec.Flag("--smaps", "each snapshot also shows every process's /proc/PID/smaps (per VMA: Rss, Pss, Shared/Private, Referenced, Swap, THPeligible, VmFlags ...)"),
        OptionSpec.Value("--html", "FILE.html", "one self-contained page: address spaces, mm_struct, page-table walk, the mechanism diagram with a timeline that plays, plots"),
        OptionSpec.Value("--events", "FILE.jsonl", "one JSON line per fault, syscall, reclaim pass, kswapd wake/sleep, allocation, swap I/O, PTE rewrite, TLB flush, OOM kill, task start/exit ('-' = stdout; the report then goes to stderr)"),
        OptionSpec.Value("--events-kind", "K[,K]", "only these event kinds") with { Completions = EventNames.Kinds.ToArray() },
        OptionSpec.Value("--events-pid", "P[,P]", "only these pids (0 = kswapd and other kernel work)"),
        OptionSpec.Value("--events-from", "T", "only events at or after simulated cycle T"),
        OptionSpec.Value("--events-to", "T", "only events at or before simulated cycle T"),
        OptionSpec.Value("--events-page", "0xADDR", "only that page's events, its TLB flushes, and reclaim/kswapd"),
        OptionSpec.Value("--warmup", "N", "reset every statistic once N accesses (all processes together) have completed; memory state is kept"),
    ];

    /// <summary>An extra stop request polled after every tick (tests use it to interrupt a run as Ctrl-C would).</summary>
    public Func<bool>? StopRequested { get; init; }

    public string Usage =>
        "Usage: ecsmem run [SCENARIO.yaml | --trace FILE] [options]\n\n" +
        "The full machine: builds it from the built-in default scenario, a scenario file (docs/scenarios.md) or\n" +
        "one process replaying a trace; runs it to the end and prints the report (docs/report.md).\n" +
        "Ctrl-C (SIGINT) or SIGTERM stops the run and prints the partial report (exit 130 or 143);\n" +
        "a second signal ends it at once.\n";

    public IReadOnlyList<Example> Examples { get; } =
    [
        new("ecsmem run", "the built-in default scenario, report as text"),
        new("ecsmem run samples/scenarios/lackey-sort.yaml --json -o report.json", "a scenario file, the report as JSON in report.json"),
        new("ecsmem run --trace sort.lackey.gz --mem 16M --policy clock --plot rss.png", "one process replaying a trace on 16 MiB of RAM, with a timeline plot"),
        new("ecsmem run --check --events faults.jsonl --events-kind fault", "check the kernel's invariants and write every page fault as a JSON line"),
    ];

    public int Run(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        Scenario scenario = LoadScenario(cl);
        scenario = ApplyOverrides(scenario, cl);
        CheckPolicy(scenario);

        string? timelinePath = cl.Get("--timeline");
        string? plotPath = cl.Get("--plot");
        if (cl.Get("--timeline-every") is not null && timelinePath is null && plotPath is null)
            throw new InputException("command line", 0, "--timeline-every", "--timeline-every needs --timeline FILE or --plot FILE");
        long every = cl.GetInt64("--timeline-every", DefaultTimelineEvery, min: 1);
        var outputs = new List<(string, string)>();
        if (timelinePath is not null) outputs.Add(("--timeline", timelinePath));
        if (plotPath is not null) outputs.Add(("--plot", plotPath));
        string? htmlPath = cl.Get("--html");
        if (htmlPath is not null) outputs.Add(("--html", htmlPath));
        string? eventsPath = cl.Get("--events");
        EventFilter eventFilter = ParseEventFilter(cl, eventsPath is not null);
        if (eventsPath is not null && eventsPath != "-") outputs.Add(("--events", eventsPath));
        OutputPaths.Check(outputs, InputFiles(scenario, cl));

        // The batch is left alone even when a timeline is sampled: rows fall on tick boundaries (exactly on
        // the multiples of the interval with --batch 1), and the report must not depend on asking for a timeline.
        TimelineRecorder? timeline = timelinePath is not null || plotPath is not null ? new TimelineRecorder(every) : null;

        long? warmup = cl.Get("--warmup") is null ? null : cl.GetInt64("--warmup", 0, min: 0);
        List<string> snapshotArgs = cl.GetAll("--snapshot").SelectMany(v => v.Split(',')).ToList();
        bool noSnapshot = snapshotArgs.Any(v => v.Trim() == "none");
        if (noSnapshot && snapshotArgs.Count > 1)
            throw new InputException("command line", 0, "none", "--snapshot none cannot be combined with other moments");
        List<SnapshotWhen> snapshotWhens = noSnapshot ? [] : snapshotArgs.Select(SnapshotWhen.Parse).ToList();
        // Without --snapshot the report shows the machine at its least free memory (the end state has every
        // address space torn down); --snapshot none leaves it out (and so the second run it needs).
        if (!noSnapshot && snapshotWhens.Count == 0)
            snapshotWhens.Add(SnapshotWhen.Peak);

        using Machine machine = ScenarioLoader.Build(scenario);
        machine.WarmupAccesses = warmup;
        // The event file is opened before the run (a bad path fails first) and put in place only after it.
        using EventFileOutput? eventFile = eventsPath is not null && eventsPath != "-" ? new EventFileOutput(eventsPath) : null;
        using EventJsonWriter? eventStdout = eventsPath == "-" ? new EventJsonWriter(stdout) : null;
        IEventSink? events = (IEventSink?)eventFile?.Writer ?? eventStdout;
        if (events is not null && !ReferenceEquals(eventFilter, EventFilter.All))
            events = new FilteringEventSink(events, eventFilter);
        // The page keeps the first events of the whole run (unfiltered: the --events filters choose the file's lines).
        HtmlEventSink? pageEvents = htmlPath is not null ? new HtmlEventSink(HtmlEventSink.DefaultCap) : null;
        IEventSink? sink = events is null ? pageEvents : pageEvents is null ? events : new TeeEventSink(events, pageEvents);
        if (sink is not null)
        {
            var tracer = machine.Kernel.AttachEvents(sink);
            // The per-call vmscan lines come only when --events-kind names one of them: a reclaim makes many.
            tracer.VmscanCalls = eventFilter.Names(MemEventKind.LruShrinkInactive) || eventFilter.Names(MemEventKind.LruShrinkActive);
        }
        TextWriter reportOut = eventStdout is null ? stdout : stderr;
        // With --html the snapshots also carry page tables (the report never prints them); without --snapshot the
        // page gets its own evenly spaced set, and the report stays as it was.
        int pageTableCap = htmlPath is not null ? HtmlPageTableEntryCap : 0;
        bool smaps = cl.Has("--smaps");
        if (smaps && noSnapshot)
            throw new InputException("command line", 0, "--smaps", "--smaps shows the snapshots' /proc/PID/smaps and cannot go with --snapshot none");
        var snapshots = new SnapshotRecorder(machine, snapshotWhens) { PageTableEntryCap = pageTableCap, WithSmaps = smaps };
        // Decided by what the user asked, not by whether the report has snapshots of its own.
        bool userSnapshots = cl.GetAll("--snapshot").Count > 0;
        EvenSnapshotRecorder? evenSnapshots = htmlPath is not null && !userSnapshots ? new EvenSnapshotRecorder(machine, pageTableCap) : null;
        IntervalSampler? sampler = htmlPath is not null ? new IntervalSampler(machine) : null;
        var statuses = new ProcessStatusTracker();
        WorkloadEndTap.Attach(machine, statuses);
        var bar = ProgressLine.ForConsole(stderr);
        Func<bool>? extra = StopRequested;
        if (cl.Get("--check-every") is not null && !cl.Has("--check"))
            throw new InputException("command line", 0, "--check-every", "--check-every needs --check");
        int fullEvery = (int)cl.GetInt64("--check-every", IncrementalChecker.DefaultFullEvery, min: 1, max: int.MaxValue);
        IncrementalChecker? checker = cl.Has("--check") ? new IncrementalChecker(machine.Kernel, fullEvery) : null;
        bool Stop() => InterruptSignal.Requested || (extra?.Invoke() ?? false);
        long ticks = 0;
        try
        {
            if (checker is not null && checker.CheckFull() is { Count: > 0 } initial)
                throw new InvariantViolationException(initial, "before the first tick");
            // A signal during start-up (parsing, opening traces, building) stops the run before its first tick:
            // the report then shows the machine as built, nothing simulated, marked partial.
            snapshots.Start();
            evenSnapshots?.Start();
            sampler?.AfterTick();
            if (!Stop())
            {
                machine.Run(
                stop: Stop,
                progress: m =>
                {
                    ticks++;
                    if (checker is not null && checker.AfterTick() is { Count: > 0 } violations)
                        throw new InvariantViolationException(violations, $"after tick {ticks} (t={m.Env.Now})");
                    statuses.Observe(m.Kernel);
                    timeline?.Observe(m.Kernel);
                    snapshots.AfterTick();
                    evenSnapshots?.AfterTick();
                    sampler?.AfterTick(); // after the snapshot recorders: it lowers the mark they armed to its own when nearer
                    bar?.Update(m.Kernel.Cycles.Accesses, m.Env.Now / (m.Kernel.Timing.ClockGHz * 1e9));
                },
                checkEvery: 1);
            }
            if (checker is not null && checker.CheckFull() is { Count: > 0 } final)
                throw new InvariantViolationException(final, "at the end of the run");
        }
        catch (InvariantViolationException e)
        {
            bar?.Clear();
            stderr.WriteLine($"ecsmem: invariant violated: {e.Message}");
            return ExitInvariantViolated;
        }
        bar?.Clear();
        timeline?.Finish(machine.Kernel);
        sampler?.Finish();

        SimulationReport report = SimulationReport.Build(machine, scenario.SourceName, statuses);
        Snapshot? peak = null;
        if (snapshots.WantsPeak)
        {
            // The peak needs a second run to it: not after a stop request (the user wants the run to end), nor when a
            // trace comes through a pipe, FIFO or device (it cannot be read again).
            string? pipe = InputFiles(scenario, cl).Where(i => i.What == "input trace").Select(i => i.Path)
                .FirstOrDefault(p => FileIdentity.KindOf(p) is not FileKind.Regular);
            peak = report.Partial ? snapshots.NotTaken("peak", "the run was interrupted; the peak needs a second run")
                : pipe is not null ? snapshots.NotTaken("peak", $"the trace {pipe} is not a regular file (a pipe?) and cannot be read again for the second run the peak needs")
                : PeakSnapshot(scenario, warmup, snapshots.Peak(), smaps);
        }
        report = report with { Snapshots = snapshots.Finish(peak) };
        if (timeline is not null)
        {
            var names = report.Processes.Select(p => p.Name).ToArray();
            if (timelinePath is not null)
                ReportOutputFile.WriteText(timelinePath, TimelineCsvWriter.Write(timeline.Rows, names));
            if (plotPath is not null)
                ReportOutputFile.WriteBytes(plotPath, TimelinePlot.Render(plotPath, timeline.Rows, names,
                    new TimelinePlot.RunInfo(TimelinePlot.RunInfo.ScenarioName(report.Source), report.Policy, report.RamBytes / 4096)));
        }
        if (htmlPath is not null)
        {
            IReadOnlyList<Snapshot> pageSnapshots = evenSnapshots?.Finish() ?? report.Snapshots;
            ReportOutputFile.WriteText(htmlPath, HtmlReport.Write(new HtmlReportData
            {
                Report = report,
                Snapshots = pageSnapshots,
                DefaultSnapshots = evenSnapshots is not null,
                Samples = sampler!.Samples,
                SampleInterval = sampler.Interval,
                Paging = machine.Kernel.Options.Paging,
                ZeroPfn = machine.Kernel.Zone.ZeroPfn,
                PageTableEntryCap = pageTableCap,
                Events = pageEvents,
            }));
        }
        eventFile?.Commit();
        reportOut.Write(cl.Has("--json") ? ReportJsonWriter.Write(report) : ReportTextWriter.Write(report));
        if (report.Partial)
        {
            string by = InterruptSignal.Requested ? " by " + InterruptSignal.SignalName : "";
            stderr.WriteLine($"ecsmem: partial: interrupted{by} after {report.Accesses.ToString(CultureInfo.InvariantCulture)} accesses");
            return InterruptSignal.Requested ? InterruptSignal.ExitCode : ExitInterrupted;
        }
        return 0;
    }

    /// <summary>
    /// <c>--snapshot peak</c>: the first run found the least free memory and the page allocation that reached it;
    /// a second machine, built the same way, runs to that allocation and is captured there (a deterministic replay
    /// of the run's beginning; no check or timeline, which do not change the simulation).
    /// </summary>
    private static Snapshot PeakSnapshot(Scenario scenario, long? warmup, PeakPoint point, bool smaps)
    {
        using Machine again = ScenarioLoader.Build(scenario);
        again.WarmupAccesses = warmup;
        WorkloadEndTap.Attach(again, new ProcessStatusTracker());
        // A signal during the second run abandons the peak (the first run's report is still printed, complete).
        Snapshot peak = SnapshotRecorder.CapturePeak(again, point, stop: () => InterruptSignal.Requested, withSmaps: smaps);
        return peak.Reached ? peak : peak with { NotTakenBecause = "interrupted during the second run the peak needs" };
    }

    /// <summary>
    /// The --events-kind, --events-pid, --events-from and --events-to filters (all need --events): kinds by name,
    /// pids as positive integers, a window of simulated cycles with both ends included.
    /// </summary>
    private static EventFilter ParseEventFilter(CommandLine cl, bool eventsOn)
    {
        string[] options = ["--events-kind", "--events-pid", "--events-from", "--events-to", "--events-page"];
        if (!eventsOn)
        {
            foreach (string o in options)
                if (cl.Get(o) is not null)
                    throw new InputException("command line", 0, o, $"{o} needs --events FILE.jsonl (or - for stdout)");
            return EventFilter.All;
        }
        if (options.All(o => cl.Get(o) is null))
            return EventFilter.All;
        List<MemEventKind>? kinds = null;
        if (cl.Get("--events-kind") is { } kindText)
        {
            kinds = new();
            foreach (string k in kindText.Split(','))
                kinds.Add(EventNames.Parse(k) ?? throw new InputException("command line", 0, k,
                    "--events-kind: unknown event kind (known: " + string.Join(", ", EventNames.Kinds) + ")"));
        }
        List<int>? pids = null;
        if (cl.Get("--events-pid") is { } pidText)
        {
            pids = new();
            foreach (string p in pidText.Split(','))
            {
                if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid < 0)
                    throw new InputException("command line", 0, p, "--events-pid needs pids (integers from 0; 0 = kswapd and other kernel work), comma-separated");
                pids.Add(pid);
            }
        }
        ulong from = Cycles(cl, "--events-from", 0), to = Cycles(cl, "--events-to", ulong.MaxValue);
        if (from > to)
            throw new InputException("command line", 0, cl.Get("--events-to")!, $"--events-to is before --events-from ({from})");
        ulong? page = null;
        if (cl.Get("--events-page") is { } pageText)
        {
            string hex = pageText.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? pageText[2..] : "";
            if (hex.Length == 0 || !ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong a))
                throw new InputException("command line", 0, pageText, "--events-page needs an address in hex (0x40d000)");
            page = a;
        }
        return new EventFilter(kinds, pids, from, to, page);
    }

    private static ulong Cycles(CommandLine cl, string option, ulong fallback)
    {
        string? s = cl.Get(option);
        if (s is null)
            return fallback;
        if (!ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v))
            throw new InputException("command line", 0, s, $"{option} needs a simulated time in cycles (an integer from 0)");
        return v;
    }

    /// <summary>The scenario: one process replaying --trace, the file given, or the embedded default.</summary>
    private static Scenario LoadScenario(CommandLine cl)
    {
        string? trace = cl.Get("--trace");
        if (trace is null)
        {
            if (cl.Get("--trace-format") is not null)
                throw new InputException("command line", 0, "--trace-format", "--trace-format needs --trace FILE");
            return cl.Positionals.Count == 1 ? ScenarioParser.ParseFile(cl.Positionals[0]) : DefaultScenario.Load();
        }
        if (cl.Positionals.Count > 0)
            throw new InputException("command line", 0, cl.Positionals[0], "give either a scenario file or --trace FILE, not both");
        if (trace != "-" && !File.Exists(trace))
            throw new InputException("command line", 0, trace, "trace file not found");
        string formatName = cl.Get("--trace-format")
            ?? TraceFormats.Detect(trace)
            ?? throw new InputException(trace, 0, trace, "cannot tell the trace format from its content; give --trace-format");
        TraceFormat format = formatName.ToLowerInvariant() switch
        {
            "lackey" => TraceFormat.Lackey,
            "pinatrace" => TraceFormat.Pinatrace,
            "pages" => TraceFormat.Pages,
            "binary" => TraceFormat.Binary,
            "champsim" => TraceFormat.ChampSim,
            "cloudsuite" => TraceFormat.CloudSuite,
            "oraclegeneral" => TraceFormat.OracleGeneral,
            "csv" => TraceFormat.Csv,
            "auto" => TraceFormat.Auto,
            _ => throw new InputException("command line", 0, formatName,
                "--trace-format must be lackey, pinatrace, pages, binary, champsim, cloudsuite, oracleGeneral, csv or auto"),
        };
        string name = Path.GetFileNameWithoutExtension(trace);
        if (name.Length == 0) name = "trace";
        var process = new ProcessConfig(name, 0, new InferredLayout(0), new TraceWorkload(trace, format, null, 0), null, 0);
        return new Scenario("command line", $"trace {trace}", new MachineConfig(), [process], []);
    }

    /// <summary>
    /// Machine options given on the command line replace the scenario's <c>machine:</c> values; the machine is then
    /// built from the scenario by the one mapping (<see cref="ScenarioLoader.Options"/>), so there is no other path.
    /// </summary>
    private static Scenario ApplyOverrides(Scenario s, CommandLine cl)
    {
        MachineConfig m = s.Machine;
        if (cl.Get("--mem") is { } mem)
            m = m with { RamBytes = Bytes(mem, "--mem", minPages: 16) };
        if (cl.Get("--swap") is { } swap)
        {
            m = m with { SwapBytes = Bytes(swap, "--swap", minPages: 0) };
            if (m.SwapBytes > MachineConfig.MaxSwapBytes)
                throw new InputException("command line", 0, swap, "--swap: " + MachineConfig.MaxSwapReason);
        }
        if (cl.Get("--policy") is { } policy)
        {
            if (!PolicyRegistry.Contains(policy))
                throw new InputException("command line", 0, policy, "unknown policy for --policy (known: " + string.Join(", ", PolicyRegistry.Names) + ")");
            if (PolicyRegistry.Create(policy, new PolicyOptions(1)) is IFutureAwarePolicy)
                throw new InputException("command line", 0, policy, "--policy: this policy needs the whole future reference string; use it in the ideal mode (ecsmem run --ideal)");
            m = m with { Policy = new ReplacementPolicyConfig(policy.ToLowerInvariant(), [], 0) };
        }
        if (cl.Get("--paging") is { } paging)
        {
            m = m with
            {
                Paging = paging switch
                {
                    "x86" => Scenarios.PagingMode.X86,
                    "x86-64" => Scenarios.PagingMode.X86_64,
                    "x86-64-la57" => Scenarios.PagingMode.X86_64La57,
                    _ => throw new InputException("command line", 0, paging, "--paging must be x86, x86-64 or x86-64-la57"),
                },
            };
        }
        if (cl.Get("--quantum") is not null)
            m = m with { Quantum = cl.GetInt64("--quantum", m.Quantum, min: 1, max: int.MaxValue) };
        if (cl.Get("--seed") is not null)
            m = m with { Seed = (ulong)cl.GetInt64("--seed", (long)m.Seed) };
        if (cl.Get("--batch") is not null)
            m = m with { BatchSize = (int)cl.GetInt64("--batch", m.BatchSize, min: 1, max: int.MaxValue) };
        return s with { Machine = m };
    }

    /// <summary>
    /// The scenario's policy must exist and work on a running machine: checked here, where the scenario line
    /// is known, so the error points at the <c>policy:</c> line rather than at the whole file.
    /// </summary>
    private static void CheckPolicy(Scenario s)
    {
        ReplacementPolicyConfig p = s.Machine.Policy;
        if (!PolicyRegistry.Contains(p.Name))
            throw new InputException(s.SourceName, p.Line, p.Name, "unknown policy (known: " + string.Join(", ", PolicyRegistry.Names) + ")");
        if (PolicyRegistry.Create(p.Name, new PolicyOptions(s.Machine.Seed), s.SourceName) is IFutureAwarePolicy)
            throw new InputException(s.SourceName, p.Line, p.Name, "this policy needs the whole future reference string; use it in the ideal mode (ecsmem run --ideal)");
    }

    /// <summary>A size option: a whole number of 4 KiB pages, at least <paramref name="minPages"/>.</summary>
    private static long Bytes(string text, string option, int minPages)
    {
        long v = SizeParser.Parse(text, "command line", 0, option);
        if (v % MachineConfig.SupportedPageSize != 0)
            throw new InputException("command line", 0, text, $"{option} must be a whole number of 4 KiB pages");
        if (v < (long)minPages * MachineConfig.SupportedPageSize)
            throw new InputException("command line", 0, text, $"{option} must be at least {minPages} pages ({minPages * 4} KiB)");
        return v;
    }

    /// <summary>Every file the run reads: the scenario file and the traces and maps files it names (outputs must not be one of them).</summary>
    private static IEnumerable<(string What, string Path)> InputFiles(Scenario s, CommandLine cl)
    {
        if (cl.Get("--trace") is null && cl.Positionals.Count == 1)
            yield return ("scenario file", cl.Positionals[0]);
        foreach (ProcessConfig p in s.Processes)
        {
            if (p.Layout is MapsFileLayout maps)
                yield return ("maps file", maps.Path);
            foreach (Workload? w in p.Threads.Select(t => t.Workload).Prepend(p.Workload).Append(p.Children?.Workload).Concat(p.Children?.Workloads ?? []))
                if (w is TraceWorkload t)
                    yield return ("input trace", t.Path);
        }
        foreach (TimelineEvent e in s.Timeline)
            if (e.Op is ForkOp { Workload: TraceWorkload t })
                yield return ("input trace", t.Path);
    }
}
