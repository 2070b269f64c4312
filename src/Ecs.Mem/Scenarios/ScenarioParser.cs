using EcsMem.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace EcsMem.Scenarios;

/// <summary>
/// Reads a scenario YAML file strictly: unknown keys, wrong types and impossible values are
/// <see cref="InputException"/>s naming the file, the YAML line and the offending text. See docs/scenarios.md.
/// </summary>
public static class ScenarioParser
{
    private static readonly string[] RootKeys = ["description", "machine", "processes", "timeline", "cgroups"];
    private static readonly string[] CgroupKeys = ["name", "parent", "memory.max", "memory.high", "memory.low", "memory.min", "memory.swap.max"];
    private static readonly string[] ProcessKeys = ["name", "start", "layout", "workload", "threads", "children", "cap_sys_admin", "cgroup", "rseq"];
    private static readonly string[] ThreadKeys = ["name", "start", "workload"];
    private static readonly string[] ExecKeys = ["file", "text", "data", "bss", "heap", "stack", "args_env"];
    private static readonly string[] WorkloadKeys = ["trace", "generator"];
    private static readonly string[] TraceKeys = ["path", "format", "process"];
    private static readonly string[] ChildrenKeys = ["count", "after", "workload", "workloads", "start_delay"];
    private static readonly string[] OpKeys = ["mmap", "munmap", "mprotect", "brk", "fork", "exit", "madvise", "fadvise", "drop_caches", "mremap", "mlock", "munlock", "mlockall", "munlockall", "open", "memfd_create", "ftruncate", "close", "write", "read", "fallocate", "unlink", "fsync", "fdatasync", "zero_fill", "pause"];

    /// <summary>madvise advices Linux has that the timeline does not model yet (refused with a clear error).</summary>
    private static readonly string[] LaterMadvise =
    [
        "remove", "mergeable", "unmergeable",
        "dontdump", "dodump", "wipeonfork", "keeponfork", "populate_read",
        "collapse", "hwpoison", "soft_offline", "guard_install", "guard_remove",
    ];
    private static readonly string[] EventKeys = ["at", "after", "process", .. OpKeys];
    private static readonly string[] MmapKeys = ["addr", "length", "prot", "flags", "file", "offset", "fixed", "locked", "noreserve", "populate", "fd", "hugetlb"];

    /// <summary>Reads the scenario file at <paramref name="path"/>; relative paths inside it are resolved against its folder.</summary>
    public static Scenario ParseFile(string path)
    {
        string text;
        try
        {
            text = YamlBounds.ReadFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InputException(path, 0, path, "cannot read scenario file: " + e.Message);
        }
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        using var reader = new StringReader(text);
        return Parse(reader, path, dir);
    }

    /// <summary>
    /// Reads a scenario from <paramref name="reader"/>. <paramref name="sourceName"/> names it in errors;
    /// relative trace, maps and file paths are resolved against <paramref name="baseDirectory"/> when given, else kept as written.
    /// </summary>
    public static Scenario Parse(TextReader reader, string sourceName, string? baseDirectory = null)
    {
        string text = YamlBounds.ReadBounded(reader, sourceName);
        // Before the recursive YAML loader: line length and nesting depth (see YamlBounds).
        YamlBounds.CheckText(text, sourceName);
        var yaml = new YamlStream();
        var parser = new Parser(new StringReader(text));
        try
        {
            yaml.Load(parser);
        }
        catch (YamlException e)
        {
            // YamlDotNet wraps some causes in an outer "while parsing" exception; the inner one has the precise mark.
            var inner = e.InnerException as YamlException ?? e;
            int line = (int)Math.Min(inner.Start.Line, int.MaxValue);
            if (inner.Message.Contains("tab", StringComparison.OrdinalIgnoreCase))
                line = FirstTabIndentedLine(text, line);
            throw new InputException(sourceName, line, LineText(text, line), "YAML syntax error: " + inner.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            // YamlDotNet's scanner can fail without a YamlException on some malformed flow collections;
            // the last event it produced tells where it was.
            int line = parser.Current is { } ev ? (int)Math.Min(ev.Start.Line, int.MaxValue) : 0;
            throw new InputException(sourceName, line, LineText(text, line),
                "YAML syntax error: the YAML reader stopped here (check brackets, braces and quotes)");
        }
        if (yaml.Documents.Count == 0)
            throw new InputException(sourceName, 0, "", "the scenario file is empty (it needs at least a 'processes' list)");
        if (yaml.Documents.Count > 1)
            throw new InputException(sourceName, YamlValues.LineOf(yaml.Documents[1].RootNode), "---",
                "a scenario file holds one YAML document; found a second one");
        YamlBounds.CheckExpansion(yaml.Documents[0].RootNode, sourceName);
        return new Reader(new YamlValues(sourceName), baseDirectory).Read(yaml.Documents[0].RootNode);
    }

    /// <summary>The 1-based <paramref name="line"/> of <paramref name="text"/>, trimmed, as the error's value.</summary>
    private static string LineText(string text, int line)
    {
        if (line <= 0)
            return "";
        int n = 1;
        foreach (var l in text.AsSpan().EnumerateLines())
        {
            if (n++ == line)
                return l.Trim().ToString();
        }
        return "";
    }

    /// <summary>YAML forbids tabs in indentation; YamlDotNet reports the enclosing mapping, so point at the tab itself.</summary>
    private static int FirstTabIndentedLine(string text, int from)
    {
        int n = 1;
        foreach (var l in text.AsSpan().EnumerateLines())
        {
            if (n >= from)
            {
                int i = 0;
                while (i < l.Length && l[i] == ' ')
                    i++;
                if (i < l.Length && l[i] == '\t')
                    return n;
            }
            n++;
        }
        return from;
    }

    /// <summary>The per-parse state: names seen so far, the machine (for address checks).</summary>
    private sealed class Reader(YamlValues values, string? baseDirectory)
    {
        private readonly Dictionary<string, int> _names = new(StringComparer.Ordinal);
        private MachineConfig _machine = new();

        private string Source => values.Source;

        public Scenario Read(YamlNode root)
        {
            if (YamlValues.IsNull(root))
                throw new InputException(Source, 0, "", "the scenario file is empty (it needs at least a 'processes' list)");
            var s = new YamlSection(Source, root, "", RootKeys);
            string? description = s.Get("description") is { } d ? values.Text(d, "description") : null;
            _machine = new MachineConfigParser(values).Parse(s.Get("machine"));
            IReadOnlyList<CgroupConfig> cgroups = s.Get("cgroups") is { } cg && !YamlValues.IsNull(cg) ? Cgroups(cg) : Array.Empty<CgroupConfig>();

            var procNode = s.Get("processes") ?? throw new InputException(Source, s.Line, "", "the scenario has no 'processes' list");
            var procSeq = values.Sequence(procNode, "processes");
            if (procSeq.Children.Count == 0)
                throw values.Error(procNode, "processes must list at least one process");
            var processes = new List<ProcessConfig>(procSeq.Children.Count);
            for (int i = 0; i < procSeq.Children.Count; i++)
                processes.Add(Process(procSeq.Children[i], $"processes[{i}]"));

            var timeline = new List<TimelineEvent>();
            var pendingRefs = new List<(YamlNode Node, string Name)>();
            if (s.Get("timeline") is { } tl && !YamlValues.IsNull(tl))
            {
                var seq = values.Sequence(tl, "timeline");
                for (int i = 0; i < seq.Children.Count; i++)
                    timeline.Add(Event(seq.Children[i], $"timeline[{i}]", pendingRefs));
            }
            // Checked after the whole timeline is read, so an event may name a child forked by a later entry
            // (file order need not be time order).
            foreach (var (node, name) in pendingRefs)
                if (!_names.ContainsKey(name))
                    throw values.Error(node, $"timeline refers to unknown process '{name}'");
            foreach (var (node, name) in _cgroupRefs)
                if (!cgroups.Any(c => c.Name == name))
                    throw values.Error(node, $"unknown cgroup '{name}' (declare it under 'cgroups')");
            return new Scenario(Source, description, _machine, processes, timeline) { Cgroups = cgroups };
        }

        private readonly List<(YamlNode Node, string Name)> _cgroupRefs = new();

        /// <summary>
        /// The <c>cgroups</c> list: each <c>{name, parent, memory.max, memory.high, memory.low, memory.min,
        /// memory.swap.max}</c>, parents declared before their children (as mkdir makes them).
        /// </summary>
        private List<CgroupConfig> Cgroups(YamlNode node)
        {
            var seq = values.Sequence(node, "cgroups");
            var list = new List<CgroupConfig>(seq.Children.Count);
            if (seq.Children.Count > 64)
                throw values.Error(node, "cgroups lists more than 64 cgroups");
            for (int i = 0; i < seq.Children.Count; i++)
            {
                string path = $"cgroups[{i}]";
                var c = new YamlSection(Source, seq.Children[i], path, CgroupKeys);
                var nameNode = c.Get("name") ?? throw new InputException(Source, c.Line, "", $"{path} has no 'name'");
                string name = ProcessName(nameNode, c.PathOf("name"));
                if (list.Any(g => g.Name == name))
                    throw values.Error(nameNode, $"duplicate cgroup name '{name}'");
                string? parent = null;
                if (c.Get("parent") is { } pn)
                {
                    parent = values.NonEmptyText(pn, c.PathOf("parent"));
                    if (!list.Any(g => g.Name == parent))
                        throw values.Error(pn, $"{c.PathOf("parent")} names '{parent}', which is not a cgroup declared before this one");
                }
                long Limit(string key, long def)
                {
                    if (c.Get(key) is not { } n)
                        return def;
                    if (n is YamlScalarNode { Value: "max" })
                        return CgroupConfig.Unlimited;
                    long v = values.Size(n, c.PathOf(key));
                    if (v < 0)
                        throw values.Error(n, $"{c.PathOf(key)} must be a size in bytes or 'max'");
                    return v;
                }
                // cgroup v1 charges swap to memsw (memory.memsw.limit_in_bytes, not modelled) and has no
                // memory.swap.max: a limit given for it would be a v2 rule the v1 kernel does not apply.
                if (_machine.CgroupVersion == 1 && c.Get("memory.swap.max") is { } sm && Limit("memory.swap.max", CgroupConfig.Unlimited) != CgroupConfig.Unlimited)
                    throw values.Error(sm, $"{c.PathOf("memory.swap.max")}: cgroup v1 has no memory.swap.max (machine.cgroup_version is 1; its memsw limit is not modelled)");
                list.Add(new CgroupConfig(name, parent,
                    Limit("memory.max", CgroupConfig.Unlimited), Limit("memory.high", CgroupConfig.Unlimited),
                    Limit("memory.low", 0), Limit("memory.min", 0), Limit("memory.swap.max", CgroupConfig.Unlimited), c.Line));
            }
            return list;
        }

        /// <summary>Records a process or thread name; processes, children and threads share one namespace.</summary>
        private void Declare(YamlNode node, string name, string what = "process")
        {
            if (_names.TryGetValue(name, out int first))
                throw new InputException(Source, YamlValues.LineOf(node), name, what == "process"
                    ? $"duplicate process name '{name}' (first defined on line {first})"
                    : $"duplicate {what} name '{name}' (first defined on line {first}; threads and processes share one namespace)");
            _names.Add(name, YamlValues.LineOf(node));
        }

        private string ProcessName(YamlNode node, string path)
        {
            string name = values.NonEmptyText(node, path);
            foreach (char c in name)
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                    throw values.Error(node, $"{path} may hold only letters, digits, '-', '_' and '.'");
            return name;
        }

        private ProcessConfig Process(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, ProcessKeys);
            var nameNode = s.Get("name") ?? throw new InputException(Source, s.Line, "", $"{path} has no 'name'");
            string name = ProcessName(nameNode, path + ".name");
            Declare(nameNode, name);
            ulong start = s.Get("start") is { } st ? values.Cycles(st, path + ".start") : 0;
            ProcessLayout layout = s.Get("layout") is { } l ? Layout(l, path + ".layout", name) : new InferredLayout(s.Line);
            var wNode = s.Get("workload") ?? throw new InputException(Source, s.Line, name, $"{path} has no 'workload'");
            Workload workload = Workload(wNode, path + ".workload");
            IReadOnlyList<ThreadConfig> threads = s.Get("threads") is { } th
                ? Threads(th, s.PathOf("threads"), name, start)
                : Array.Empty<ThreadConfig>();
            ForkChildrenConfig? children = null;
            if (s.Get("children") is { } c)
            {
                var cs = new YamlSection(Source, c, path + ".children", ChildrenKeys);
                var countNode = cs.Get("count") ?? throw new InputException(Source, cs.Line, "", $"{cs.Path} has no 'count'");
                int count = (int)values.Integer(countNode, cs.PathOf("count"), 1, 4096);
                ulong after = cs.Get("after") is { } a ? values.Unsigned(a, cs.PathOf("after")) : 0;
                Workload? cw = cs.Get("workload") is { } w ? Workload(w, cs.PathOf("workload")) : null;
                ulong delay = cs.Get("start_delay") is { } d ? values.Cycles(d, cs.PathOf("start_delay")) : 0;
                List<Workload>? perChild = null;
                if (cs.Get("workloads") is { } ws)
                {
                    string wsPath = cs.PathOf("workloads");
                    var seq = values.Sequence(ws, wsPath);
                    if (seq.Children.Count != count)
                        throw values.Error(ws, $"{wsPath} lists {seq.Children.Count} workloads but count is {count}: give one workload per child");
                    perChild = new List<Workload>(count);
                    for (int i = 0; i < seq.Children.Count; i++)
                        perChild.Add(Workload(seq.Children[i], $"{wsPath}[{i}]"));
                }
                for (int i = 1; i <= count; i++)
                    Declare(c, ForkChildrenConfig.ChildName(name, i));
                children = new ForkChildrenConfig(count, after, cw, cs.Line) { StartDelay = delay, Workloads = perChild };
            }
            string? cgroup = null;
            if (s.Get("cgroup") is { } cgNode)
            {
                cgroup = values.NonEmptyText(cgNode, s.PathOf("cgroup"));
                _cgroupRefs.Add((cgNode, cgroup));
            }
            bool capSysAdmin = s.Get("cap_sys_admin") is not { } cap || values.Bool(cap, s.PathOf("cap_sys_admin"));
            ulong rseq = 0;
            if (s.Get("rseq") is { } rseqNode)
            {
                rseq = values.Address(rseqNode, s.PathOf("rseq"));
                // rseq(2) refuses an area not aligned to struct rseq's 32 bytes (-EINVAL), and a NULL one.
                if (rseq == 0 || rseq % 32 != 0)
                    throw values.Error(rseqNode, $"{s.PathOf("rseq")} must be a non-zero address aligned to 32 bytes (struct rseq's alignment)");
            }
            return new ProcessConfig(name, start, layout, workload, children, s.Line) { Threads = threads, CapSysAdmin = capSysAdmin, Cgroup = cgroup, Rseq = rseq };
        }

        /// <summary>
        /// A process's extra threads: each <c>{name, start, workload}</c>, named <c>&lt;process&gt;-tN</c> by position
        /// when unnamed and starting with the process unless told otherwise (never before it).
        /// </summary>
        private List<ThreadConfig> Threads(YamlNode node, string path, string process, ulong processStart)
        {
            var seq = values.Sequence(node, path);
            if (seq.Children.Count == 0)
                throw values.Error(node, $"{path} must list at least one thread (leave it out for a single-threaded process)");
            if (seq.Children.Count > ThreadConfig.MaxPerProcess)
                throw new InputException(Source, YamlValues.LineOf(seq.Children[ThreadConfig.MaxPerProcess]), seq.Children.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    $"{path} lists more than {ThreadConfig.MaxPerProcess} threads (thread ids 1..{ThreadConfig.MaxPerProcess}; the main thread is 0)");
            var threads = new List<ThreadConfig>(seq.Children.Count);
            for (int i = 0; i < seq.Children.Count; i++)
            {
                string tpath = $"{path}[{i}]";
                var t = new YamlSection(Source, seq.Children[i], tpath, ThreadKeys);
                string name;
                if (t.Get("name") is { } nameNode)
                {
                    name = ProcessName(nameNode, t.PathOf("name"));
                    Declare(nameNode, name, "thread");
                }
                else
                {
                    name = ThreadConfig.DefaultName(process, i + 1);
                    Declare(t.Node, name, "thread");
                }
                ulong start = processStart;
                if (t.Get("start") is { } st)
                {
                    start = values.Cycles(st, t.PathOf("start"));
                    if (start < processStart)
                        throw values.Error(st, $"{t.PathOf("start")} is before the start of process '{process}' (cycle {processStart}); a thread starts with or after its process");
                }
                var wNode = t.Get("workload") ?? throw new InputException(Source, t.Line, name, $"{tpath} has no 'workload'");
                threads.Add(new ThreadConfig(name, start, Workload(wNode, t.PathOf("workload")), t.Line));
            }
            return threads;
        }

        private ProcessLayout Layout(YamlNode node, string path, string processName)
        {
            if (node is YamlScalarNode)
            {
                values.Choice(node, path, "infer");
                return new InferredLayout(YamlValues.LineOf(node));
            }
            var s = new YamlSection(Source, node, path, "exec", "maps");
            var kinds = s.Present("exec", "maps");
            if (kinds.Count != 1)
                throw new InputException(Source, s.Line, string.Join(", ", kinds),
                    $"{path} must have exactly one of 'exec' or 'maps' (or be the word 'infer')");
            if (s.Get("maps") is { } maps)
                return new MapsFileLayout(ResolvePath(values.NonEmptyText(maps, path + ".maps")), YamlValues.LineOf(maps));

            var execNode = s.Get("exec")!;
            var d = ExecLayout.Defaults(processName, YamlValues.LineOf(execNode));
            if (YamlValues.IsNull(execNode))
                return d;
            var e = new YamlSection(Source, execNode, path + ".exec", ExecKeys);
            long Size(string key, long def, long min)
            {
                if (e.Get(key) is not { } n)
                    return def;
                long v = values.Size(n, e.PathOf(key));
                if (v < min)
                    throw values.Error(n, $"{e.PathOf(key)} must be at least {min} bytes");
                return v;
            }
            var layout = new ExecLayout(
                e.Get("file") is { } f ? values.NonEmptyText(f, e.PathOf("file")) : d.File,
                Size("text", d.TextBytes, 1), Size("data", d.DataBytes, 0), Size("bss", d.BssBytes, 0),
                Size("heap", d.HeapBytes, 0), Size("stack", d.StackBytes, 1), Size("args_env", d.ArgsEnvBytes, 0),
                d.Line);
            // Saturating sum: absurd sizes must be reported, not wrap around.
            ulong total = 0;
            foreach (long part in (long[])[layout.TextBytes, layout.DataBytes, layout.BssBytes, layout.HeapBytes, layout.StackBytes, layout.ArgsEnvBytes])
                total = total > ulong.MaxValue - (ulong)part ? ulong.MaxValue : total + (ulong)part;
            ulong limit = _machine.Paging.UserAddressLimit();
            if (total >= limit)
                throw values.Error(execNode, $"{path}.exec: segments total {total} bytes, more than the {limit}-byte user address space of {_machine.Paging.Name()} paging");
            return layout;
        }

        private Workload Workload(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, WorkloadKeys);
            var kinds = s.Present(WorkloadKeys);
            if (kinds.Count != 1)
                throw new InputException(Source, s.Line, string.Join(", ", kinds), $"{path} must have exactly one of 'trace' or 'generator'");
            if (s.Get("generator") is { } g)
            {
                string spec = values.NonEmptyText(g, path + ".generator");
                return new GeneratorWorkload(spec, YamlValues.LineOf(g));
            }
            var traceNode = s.Get("trace")!;
            var t = new YamlSection(Source, traceNode, path + ".trace", TraceKeys);
            var p = t.Get("path") ?? throw new InputException(Source, t.Line, "", $"{t.Path} has no 'path'");
            var f = t.Get("format") ?? throw new InputException(Source, t.Line, "", $"{t.Path} has no 'format' (lackey, pinatrace, pages or binary)");
            var format = (TraceFormat)values.Choice(f, t.PathOf("format"), "lackey", "pinatrace", "pages", "binary",
                "champsim", "cloudsuite", "oracleGeneral", "csv", "auto");
            string? filter = t.Get("process") is { } pf ? values.NonEmptyText(pf, t.PathOf("process")) : null;
            return new TraceWorkload(ResolvePath(values.NonEmptyText(p, t.PathOf("path"))), format, filter, t.Line);
        }

        private TimelineEvent Event(YamlNode node, string path, List<(YamlNode, string)> refs)
        {
            var s = new YamlSection(Source, node, path, EventKeys);
            var when = s.Present("at", "after");
            if (when.Count != 1)
                throw new InputException(Source, s.Line, string.Join(", ", when), $"{path} must have exactly one of 'at' (cycles) or 'after' (accesses of the process)");
            var trigger = when[0] == "at" ? TimelineTrigger.AtCycle : TimelineTrigger.AfterAccesses;
            ulong at = trigger == TimelineTrigger.AtCycle
                ? values.Cycles(s.Get(when[0])!, s.PathOf(when[0]))
                : values.Unsigned(s.Get(when[0])!, s.PathOf(when[0]));
            var pNode = s.Get("process") ?? throw new InputException(Source, s.Line, "", $"{path} has no 'process'");
            string process = ProcessName(pNode, s.PathOf("process"));
            refs.Add((pNode, process));
            var ops = s.Present(OpKeys);
            if (ops.Count != 1)
                throw new InputException(Source, s.Line, string.Join(", ", ops),
                    $"{path} must have exactly one operation: {string.Join(", ", OpKeys)}");
            string opPath = s.PathOf(ops[0]);
            YamlNode opNode = s.Get(ops[0])!;
            TimelineOp op = ops[0] switch
            {
                "mmap" => Mmap(opNode, opPath),
                "munmap" => Munmap(opNode, opPath),
                "mprotect" => Mprotect(opNode, opPath),
                "brk" => Brk(opNode, opPath),
                "fork" => Fork(opNode, opPath),
                "madvise" => Madvise(opNode, opPath),
                "fadvise" => Fadvise(opNode, opPath),
                "drop_caches" => new DropCachesOp((int)values.Integer(opNode, opPath, 1, 3)),
                "mremap" => Mremap(opNode, opPath),
                "mlock" => MlockRange(opNode, opPath, unlock: false),
                "munlock" => MlockRange(opNode, opPath, unlock: true),
                "mlockall" => Mlockall(opNode, opPath),
                "munlockall" => new MlockallOp(0, true),
                "open" => OpenFile(opNode, opPath),
                "memfd_create" => MemfdCreate(opNode, opPath),
                "ftruncate" => Ftruncate(opNode, opPath),
                "fsync" or "fdatasync" => Fsync(opNode, opPath, ops[0] == "fdatasync"),
                "close" => new CloseOp(Fd(Required(new YamlSection(Source, opNode, opPath, "fd"), "fd"), opPath + ".fd")),
                "write" => WriteRead(opNode, opPath, write: true),
                "read" => WriteRead(opNode, opPath, write: false),
                "fallocate" => Fallocate(opNode, opPath),
                "unlink" => Unlink(opNode, opPath),
                "zero_fill" => ZeroFill(opNode, opPath),
                "pause" => Pause(opNode, opPath),
                _ => Exit(opNode, opPath),
            };
            return new TimelineEvent(trigger, at, process, op, s.Line);
        }

        private MmapOp Mmap(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, MmapKeys);
            bool isFixed = s.Get("fixed") is { } fx && values.Bool(fx, s.PathOf("fixed"));
            long length = Length(s, path);
            ulong? addr = null;
            if (s.Get("addr") is { } a)
                addr = Range(a, s.PathOf("addr"), length);
            else if (isFixed)
                throw new InputException(Source, s.KeyLine("fixed"), "fixed", $"{path}: fixed: true needs an 'addr'");
            var prot = s.Get("prot") is { } p ? Prot(p, s.PathOf("prot")) : Protection.Read | Protection.Write;
            bool shared = s.Get("flags") is { } f && values.Choice(f, s.PathOf("flags"), "private", "shared") == 1;
            string? file = s.Get("file") is { } fn ? ResolvePath(values.NonEmptyText(fn, s.PathOf("file"))) : null;
            int? fd = null;
            if (s.Get("fd") is { } fdNode)
            {
                if (file is not null)
                    throw values.Error(fdNode, $"{path} has both 'file' and 'fd': a mapping is made from one or the other");
                fd = Fd(fdNode, s.PathOf("fd"));
            }

            long offset = 0;
            if (s.Get("offset") is { } o)
            {
                if (file is null && fd is null)
                    throw values.Error(o, $"{path}.offset needs a 'file' or an 'fd' (anonymous mappings have no offset)");
                offset = values.Size(o, s.PathOf("offset"));
                if (offset % _machine.PageSize != 0)
                    throw values.Error(o, $"{path}.offset must be a multiple of the page size ({_machine.PageSize})");
            }
            bool locked = s.Get("locked") is { } lk && values.Bool(lk, s.PathOf("locked"));
            bool noReserve = s.Get("noreserve") is { } nr && values.Bool(nr, s.PathOf("noreserve"));
            bool populate = s.Get("populate") is { } pp && values.Bool(pp, s.PathOf("populate"));
            bool hugetlb = false;
            if (s.Get("hugetlb") is { } ht)
            {
                hugetlb = values.Bool(ht, s.PathOf("hugetlb"));
                if (hugetlb && (file is not null || fd is not null))
                    throw values.Error(ht, $"{path}.hugetlb is MAP_HUGETLB, which maps anonymous memory: not with 'file' or 'fd'");
            }
            return new MmapOp(addr, length, prot, shared, file, offset, isFixed) { Locked = locked, NoReserve = noReserve, Populate = populate, Fd = fd, HugeTlb = hugetlb };
        }

        /// <summary>A descriptor number: 0 .. 1048575 (NR_OPEN).</summary>
        private int Fd(YamlNode node, string path) => (int)values.Integer(node, path, 0, 1048575);

        /// <summary>open: {file, fd, flags: "creat|excl|trunc|append|rdonly|wronly"}.</summary>
        private OpenOp OpenFile(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "file", "fd", "flags");
            string file = ResolvePath(values.NonEmptyText(Required(s, "file"), s.PathOf("file")));
            var flags = OpenFlagSet.None;
            if (s.Get("flags") is { } fl)
            {
                foreach (string part in values.NonEmptyText(fl, s.PathOf("flags")).Split('|', StringSplitOptions.TrimEntries))
                {
                    flags |= part switch
                    {
                        "creat" => OpenFlagSet.Creat,
                        "excl" => OpenFlagSet.Excl,
                        "trunc" => OpenFlagSet.Trunc,
                        "append" => OpenFlagSet.Append,
                        "rdonly" => OpenFlagSet.RdOnly,
                        "wronly" => OpenFlagSet.WrOnly,
                        _ => throw values.Error(fl, $"{s.PathOf("flags")}: unknown open flag '{part}' (creat, excl, trunc, append, rdonly, wronly, joined with '|')"),
                    };
                }
                if ((flags & (OpenFlagSet.RdOnly | OpenFlagSet.WrOnly)) == (OpenFlagSet.RdOnly | OpenFlagSet.WrOnly))
                    throw values.Error(fl, $"{s.PathOf("flags")}: rdonly and wronly together (O_RDWR is neither)");
            }
            return new OpenOp(file, Fd(Required(s, "fd"), s.PathOf("fd")), flags);
        }

        /// <summary>write / read: {fd, length, offset, zero, piece} (with offset: pwrite64 / pread64; zero: a write's buffer holds only zeros; piece: a write made as calls of that many bytes).</summary>
        private TimelineOp WriteRead(YamlNode node, string path, bool write)
        {
            var s = write ? new YamlSection(Source, node, path, "fd", "length", "offset", "zero", "piece")
                : new YamlSection(Source, node, path, "fd", "length", "offset");
            int fd = Fd(Required(s, "fd"), s.PathOf("fd"));
            long length = values.Size(Required(s, "length"), s.PathOf("length"));
            long? offset = s.Get("offset") is { } o ? values.Size(o, s.PathOf("offset")) : null;
            bool zero = write && s.Get("zero") is { } z && values.Bool(z, s.PathOf("zero"));
            long? piece = null;
            if (write && s.Get("piece") is { } pc)
            {
                piece = values.Size(pc, s.PathOf("piece"));
                if (piece <= 0)
                    throw values.Error(pc, $"{s.PathOf("piece")}: a write's piece must be at least one byte (got {piece})");
            }
            return write ? new WriteOp(fd, length, offset, zero, piece) : new ReadOp(fd, length, offset);
        }

        /// <summary>fallocate: {fd, offset, length, mode: "keep_size|punch_hole"}.</summary>
        private FallocateOp Fallocate(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "fd", "offset", "length", "mode");
            int mode = 0;
            if (s.Get("mode") is { } m)
            {
                foreach (string part in values.NonEmptyText(m, s.PathOf("mode")).Split('|', StringSplitOptions.TrimEntries))
                {
                    mode |= part switch
                    {
                        "keep_size" => 1,
                        "punch_hole" => 2,
                        _ => throw values.Error(m, $"{s.PathOf("mode")}: unknown fallocate mode '{part}' (keep_size, punch_hole, joined with '|')"),
                    };
                }
            }
            long offset = s.Get("offset") is { } o ? values.Size(o, s.PathOf("offset")) : 0;
            return new FallocateOp(Fd(Required(s, "fd"), s.PathOf("fd")), mode, offset, values.Size(Required(s, "length"), s.PathOf("length")));
        }

        /// <summary>unlink: {file} (a path on tmpfs, /dev/shm/…: other files' names are not modelled).</summary>
        private UnlinkOp Unlink(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "file");
            var f = Required(s, "file");
            string file = ResolvePath(values.NonEmptyText(f, s.PathOf("file")));
            if (!file.StartsWith("/dev/shm/", StringComparison.Ordinal))
                throw values.Error(f, $"{s.PathOf("file")}: unlink takes a file on tmpfs (/dev/shm/...); other files' names are not modelled");
            return new UnlinkOp(file);
        }

        /// <summary>memfd_create: {name, fd, cloexec}.</summary>
        private MemfdCreateOp MemfdCreate(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "name", "fd", "cloexec");
            var n = Required(s, "name");
            string name = values.NonEmptyText(n, s.PathOf("name"));
            if (name.Contains('/', StringComparison.Ordinal) || name.Contains('\n', StringComparison.Ordinal))
                throw values.Error(n, $"{s.PathOf("name")}: a memfd name has no '/' or newline");
            bool cloexec = s.Get("cloexec") is { } c && values.Bool(c, s.PathOf("cloexec"));
            return new MemfdCreateOp(name, Fd(Required(s, "fd"), s.PathOf("fd")), cloexec);
        }

        /// <summary>ftruncate: {fd, length}.</summary>
        /// <summary>fsync / fdatasync: {fd}.</summary>
        private FsyncOp Fsync(YamlNode node, string path, bool dataOnly)
        {
            var s = new YamlSection(Source, node, path, "fd");
            return new FsyncOp(Fd(Required(s, "fd"), s.PathOf("fd")), dataOnly);
        }

        private FtruncateOp Ftruncate(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "fd", "length");
            return new FtruncateOp(Fd(Required(s, "fd"), s.PathOf("fd")), values.Size(Required(s, "length"), s.PathOf("length")));
        }

        /// <summary>zero_fill: {addr, length}: a page-aligned range of at least one byte.</summary>
        private ZeroFillOp ZeroFill(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "addr", "length");
            YamlNode len = Required(s, "length");
            long length = values.Size(len, s.PathOf("length"));
            if (length <= 0)
                throw values.Error(len, $"{s.PathOf("length")} must be at least one byte");
            ulong addr = Range(Required(s, "addr"), s.PathOf("addr"), length);
            return new ZeroFillOp(addr, length);
        }

        private MadviseOp Madvise(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "addr", "length", "advice");
            long length = values.Size(Required(s, "length"), s.PathOf("length"));
            // An unaligned start is madvise's own -EINVAL, so it is accepted here and fails when the call runs.
            ulong addr = Range(Required(s, "addr"), s.PathOf("addr"), length, pageAligned: false);
            var a = Required(s, "advice");
            string name = values.NonEmptyText(a, s.PathOf("advice")).Trim();
            if (Array.IndexOf(LaterMadvise, name) >= 0)
                throw values.Error(a, $"{s.PathOf("advice")}: madvise advice '{name}' is not supported yet (normal, random, sequential, willneed, dontneed, free, dontfork, dofork, hugepage, nohugepage, cold, pageout, populate_write)");
            var advice = (MadviseAdvice)values.Choice(a, s.PathOf("advice"), "normal", "random", "sequential", "willneed", "dontneed", "free", "dontfork", "dofork", "hugepage", "nohugepage", "cold", "pageout", "populate_write");
            return new MadviseOp(addr, length, advice);
        }

        /// <summary>mremap: {addr, old_length, new_length, flags: "maymove|fixed|dontunmap", new_addr}.</summary>
        private MremapOp Mremap(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "addr", "old_length", "new_length", "flags", "new_addr");
            long oldLength = values.Size(Required(s, "old_length"), s.PathOf("old_length"));
            long newLength = values.Size(Required(s, "new_length"), s.PathOf("new_length"));
            // Unaligned addresses and impossible flag combinations are mremap's own -EINVAL: accepted here, refused when the call runs.
            ulong addr = Range(Required(s, "addr"), s.PathOf("addr"), oldLength, pageAligned: false);
            var flags = MremapFlags.None;
            if (s.Get("flags") is { } f)
            {
                string text = values.NonEmptyText(f, s.PathOf("flags"));
                foreach (string word in text.Split(['|', ',', ' '], StringSplitOptions.RemoveEmptyEntries))
                {
                    flags |= word.Trim() switch
                    {
                        "maymove" => MremapFlags.MayMove,
                        "fixed" => MremapFlags.Fixed,
                        "dontunmap" => MremapFlags.DontUnmap,
                        "none" or "0" => MremapFlags.None,
                        _ => throw values.Error(f, $"{s.PathOf("flags")}: unknown mremap flag '{word.Trim()}' (maymove, fixed, dontunmap, joined with |)"),
                    };
                }
            }
            ulong newAddr = s.Get("new_addr") is { } n ? Range(n, s.PathOf("new_addr"), newLength, pageAligned: false) : 0;
            return new MremapOp(addr, oldLength, newLength, flags, newAddr);
        }

        /// <summary>mlock / munlock: {addr, length, onfault (mlock only)}.</summary>
        private MlockOp MlockRange(YamlNode node, string path, bool unlock)
        {
            var s = unlock ? new YamlSection(Source, node, path, "addr", "length") : new YamlSection(Source, node, path, "addr", "length", "onfault");
            long length = values.Size(Required(s, "length"), s.PathOf("length"));
            ulong addr = Range(Required(s, "addr"), s.PathOf("addr"), length, pageAligned: false);
            bool onFault = s.Get("onfault") is { } o && values.Bool(o, s.PathOf("onfault"));
            return new MlockOp(addr, length, onFault, unlock);
        }

        /// <summary>mlockall: {flags: "current|future|onfault"}.</summary>
        private MlockallOp Mlockall(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "flags");
            var f = Required(s, "flags");
            int flags = 0;
            foreach (string word in values.NonEmptyText(f, s.PathOf("flags")).Split(['|', ',', ' '], StringSplitOptions.RemoveEmptyEntries))
            {
                flags |= word.Trim() switch
                {
                    "current" => 1,
                    "future" => 2,
                    "onfault" => 4,
                    _ => throw values.Error(f, $"{s.PathOf("flags")}: unknown mlockall flag '{word.Trim()}' (current, future, onfault, joined with |)"),
                };
            }
            return new MlockallOp(flags, false);
        }

        private FadviseOp Fadvise(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "file", "offset", "length", "advice");
            string file = ResolvePath(values.NonEmptyText(Required(s, "file"), s.PathOf("file")));
            long offset = s.Get("offset") is { } o ? values.Size(o, s.PathOf("offset")) : 0;
            long length = s.Get("length") is { } l ? values.Size(l, s.PathOf("length")) : 0;
            var a = Required(s, "advice");
            if (values.NonEmptyText(a, s.PathOf("advice")).Trim() == "noreuse")
                throw values.Error(a, $"{s.PathOf("advice")}: fadvise advice 'noreuse' is not supported yet (normal, random, sequential, willneed, dontneed)");
            var advice = (FadviseAdvice)values.Choice(a, s.PathOf("advice"), "normal", "random", "sequential", "willneed", "dontneed");
            return new FadviseOp(file, offset, length, advice);
        }

        private MunmapOp Munmap(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "addr", "length");
            long length = Length(s, path);
            return new MunmapOp(Range(Required(s, "addr"), s.PathOf("addr"), length), length);
        }

        private MprotectOp Mprotect(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "addr", "length", "prot");
            long length = Length(s, path);
            ulong addr = Range(Required(s, "addr"), s.PathOf("addr"), length);
            return new MprotectOp(addr, length, Prot(Required(s, "prot"), s.PathOf("prot")));
        }

        private BrkOp Brk(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "delta", "to");
            var which = s.Present("delta", "to");
            if (which.Count != 1)
                throw new InputException(Source, s.Line, string.Join(", ", which), $"{path} must have exactly one of 'delta' (bytes, may be negative) or 'to' (new break address)");
            if (s.Get("delta") is { } d)
                return new BrkOp(values.SignedSize(d, s.PathOf("delta")), null);
            var to = s.Get("to")!;
            return new BrkOp(null, Range(to, s.PathOf("to"), 0, pageAligned: false));
        }

        private ForkOp Fork(YamlNode node, string path)
        {
            var s = new YamlSection(Source, node, path, "child", "workload", "wait");
            var c = Required(s, "child");
            string child = ProcessName(c, s.PathOf("child"));
            Declare(c, child);
            Workload? w = s.Get("workload") is { } wn ? Workload(wn, s.PathOf("workload")) : null;
            bool wait = s.Get("wait") is { } wt && values.Bool(wt, s.PathOf("wait"));
            return new ForkOp(child, w) { Wait = wait };
        }

        private ExitOp Exit(YamlNode node, string path)
        {
            if (!YamlValues.IsNull(node) && node is not YamlMappingNode { Children.Count: 0 })
                throw values.Error(node, $"{path} takes no value (write 'exit:' or 'exit: {{}}')");
            return new ExitOp();
        }

        private PauseOp Pause(YamlNode node, string path)
        {
            if (!YamlValues.IsNull(node) && node is not YamlMappingNode { Children.Count: 0 })
                throw values.Error(node, $"{path} takes no value (write 'pause:' or 'pause: {{}}')");
            return new PauseOp();
        }

        private YamlNode Required(YamlSection s, string key) =>
            s.Get(key) ?? throw new InputException(Source, s.Line, "", $"{s.Path} has no '{key}'");

        private long Length(YamlSection s, string path)
        {
            var n = Required(s, "length");
            long v = values.Size(n, s.PathOf("length"));
            if (v == 0)
                throw values.Error(n, $"{path}.length must be greater than 0");
            return v;
        }

        private Protection Prot(YamlNode node, string path) =>
            ProtectionText.TryParse(values.Text(node, path).Trim(), out var p)
                ? p
                : throw values.Error(node, $"{path} must be r, w, x letters in that order (e.g. rw-, r-x, rw) or 'none'");

        /// <summary>An address that, with <paramref name="length"/> bytes after it, lies in user space.</summary>
        private ulong Range(YamlNode node, string path, long length, bool pageAligned = true)
        {
            ulong addr = values.Address(node, path);
            if (pageAligned && addr % (ulong)_machine.PageSize != 0)
                throw values.Error(node, $"{path} must be page aligned (a multiple of {_machine.PageSize})");
            ulong limit = _machine.Paging.UserAddressLimit();
            if (addr >= limit || (ulong)length > limit - addr)
                throw values.Error(node, $"{path}: the range ends beyond the user address space of {_machine.Paging.Name()} paging (0x{limit:x})");
            return addr;
        }

        private string ResolvePath(string path) =>
            baseDirectory is null || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));
    }
}
