using System.Globalization;
using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Timing;
using EcsMem.Traces;
using EcsMem.Traces.Synthetic;
using ScenarioExec = EcsMem.Scenarios.ExecLayout;
using ScenarioInferred = EcsMem.Scenarios.InferredLayout;
using ScenarioWorkload = EcsMem.Scenarios.Workload;
using Workload = EcsMem.Systems.Cpu.Workload;

namespace EcsMem.Systems.Machine;

/// <summary>
/// Builds a <see cref="Machine"/> from a parsed <see cref="Scenario"/>: maps the machine section onto the
/// kernel, TLB, cache and timing settings, lays out each process (exec image, real maps file, or inferred
/// from its trace), opens its workload, and schedules the timeline. Errors name the scenario file and line.
/// </summary>
public static class ScenarioLoader
{
    /// <summary>
    /// Kernel settings for a scenario's machine section: the one mapping from the scenario model onto the
    /// runtime settings. Command-line overrides change the scenario's <see cref="MachineConfig"/> first and come
    /// through here too; a key a scenario leaves out arrives as <see cref="MachineConfig.Default"/>'s value, the
    /// same default <c>new KernelOptions()</c> has. Costs stay in cycles.
    /// </summary>
    public static KernelOptions Options(Scenario s)
    {
        MachineConfig m = s.Machine;
        string src = s.SourceName;
        LatencyConfig l = m.Latency;
        var timing = TimingModel.Default with
        {
            L1HitCycles = l.L1,
            L2HitCycles = l.L2,
            L3HitCycles = l.L3,
            MemoryCycles = l.Memory,
            StlbHitCycles = l.Stlb,
            PageWalkLevels = m.Paging.Levels(),
            PageWalkLevelCycles = l.WalkLevel,
            MinorFaultCycles = l.MinorFault,
            MajorFaultReadCycles = l.MajorFault,
            DiskPageCycles = l.DiskPage,
            SwapOutCycles = l.SwapWrite,
            TlbShootdownCycles = l.Shootdown,
            ContextSwitchCycles = l.ContextSwitch,
            ClearHugePageCycles = l.ClearHugePage,
        };
        timing.Validate(src);
        var tlb = Tlb.TlbConfig.Default with
        {
            Dtlb = TlbGeometry.From(m.Dtlb),
            Itlb = TlbGeometry.From(m.Itlb),
            Stlb = TlbGeometry.From(m.Stlb),
            Dtlb2M = TlbGeometry.From(m.Dtlb2M),
            Itlb2M = TlbGeometry.From(m.Itlb2M),
            Psc = m.Psc,
            UsePcid = m.Pcid,
        };
        tlb.Validate(src);
        CacheHierarchyConfig caches = m.Cpu == CpuGeometrySource.Host
            ? HostCacheTopology.ReadHierarchy().WithSharing(m)
            : CacheHierarchyConfig.From(m, src);
        caches.Validate(src);
        return new KernelOptions
        {
            RamBytes = m.RamBytes,
            SwapBytes = m.SwapBytes,
            SwapBlockDevice = m.SwapBlockDevice,
            Paging = KernelOptions.PagingOf(m.Paging),
            Policy = m.Policy.Name,
            MinFreeKbytes = m.MinFreeKbytes,
            Swappiness = m.Swappiness,
            CompactionProactiveness = m.CompactionProactiveness,
            WatermarkBoostFactor = m.WatermarkBoostFactor,
            PageCluster = m.PageCluster,
            SwapVmaReadahead = m.SwapVmaReadahead,
            SwapRaHits = m.SwapRaHits,
            SwapRaWindow = m.SwapRaWindow,
            SwapRaPrevOffset = m.SwapRaPrevOffset,
            SwapRaClearReclaim = m.SwapRaClearReclaim,
            WritebackAsync = m.WritebackAsync,
            CgroupVersion = m.CgroupVersion,
            DiskMaxSegments = m.DiskMaxSegments,
            DiskQueueDepth = m.DiskQueueDepth,
            ReclaimCost = m.ReclaimCost,
            DirtyBackgroundRatio = m.DirtyBackgroundRatio,
            DirtyBackgroundBytes = m.DirtyBackgroundBytes,
            DirtyRatio = m.DirtyRatio,
            DirtyBytes = m.DirtyBytes,
            DirtyExpireCentisecs = m.DirtyExpireCentisecs,
            DirtyWritebackCentisecs = m.DirtyWritebackCentisecs,
            FaultAroundBytes = m.FaultAroundBytes,
            ReadAheadKb = m.ReadAheadKb,
            LargeFolios = m.LargeFolios,
            ReadaheadRequests = m.ReadaheadRequests,
            PerCpuPages = m.PerCpuPages,
            PcpHighTuning = m.PcpHighTuning,
            PcpHighOrder = m.PcpHighOrder,
            SwapinFaultInWindow = m.SwapinFaultInWindow,
            ChargeAfterAlloc = m.ChargeAfterAlloc,
            SwapRaPlugFlush = m.SwapRaPlugFlush,
            ReclaimFreeBatch = m.ReclaimFreeBatch,
            OvercommitMemory = m.OvercommitMemory,
            ReadaheadQueue = m.ReadaheadQueue,
            OvercommitRatio = m.OvercommitRatio,
            OvercommitKbytes = m.OvercommitKbytes,
            AdminReserveKbytes = m.AdminReserveKbytes,
            UserReserveKbytes = m.UserReserveKbytes,
            Thp = m.Thp,
            Hugetlb = m.Hugetlb,
            FreeArea = m.FreeArea,
            LruGen = m.LruGen,
            Cpus = m.Cpus,
            Quantum = KernelOptions.QuantumOf(m.Quantum),
            SmpEpochCycles = (int)m.SmpEpoch,
            BatchSize = m.BatchSize,
            Seed = m.Seed,
            Timing = timing,
            Tlb = tlb,
            Caches = caches,
            Cgroups = s.Cgroups,
        };
    }

    /// <summary><paramref name="s"/> with its <c>machine.batch</c> replaced (null: unchanged), as <c>--batch</c> does.</summary>
    public static Scenario WithBatchSize(Scenario s, int? batchSize) =>
        batchSize is { } b ? s with { Machine = s.Machine with { BatchSize = b } } : s;

    /// <summary>
    /// Builds the machine for <paramref name="s"/>, ready to run. <paramref name="batchSizeOverride"/> replaces the
    /// scenario's <c>machine.batch</c> before the mapping (<see cref="WithBatchSize"/>), like any other override.
    /// </summary>
    public static Machine Build(Scenario s, int? batchSizeOverride = null)
    {
        s = WithBatchSize(s, batchSizeOverride);
        ScenarioLimits.Validate(s);
        var machine = new Machine(Options(s), s.SourceName);
        try
        {
            Populate(machine, s);
        }
        catch
        {
            machine.Dispose();
            throw;
        }
        return machine;
    }

    private static void Populate(Machine machine, Scenario s)
    {
        var k = machine.Kernel;
        var byName = new Dictionary<string, Entity>(StringComparer.Ordinal);
        var pendingByName = new Dictionary<string, List<(TimelineEvent Ev, AddressSpaceOp Op)>>(StringComparer.Ordinal);
        var childWorkloads = new Dictionary<string, (ScenarioWorkload? W, int Index)>(StringComparer.Ordinal);

        machine.AddressSpace.ChildCreated = (child, name) =>
        {
            byName[name] = child;
            machine.AttachTriggers(child);
            if (pendingByName.Remove(name, out var list))
                foreach (var (ev, op) in list)
                    machine.ScheduleAfterAccesses((long)ev.When, op with { Process = child });
        };

        foreach (ProcessConfig p in s.Processes)
        {
            ulong heapBase = 0;
            Entity e = machine.AddProcess(p.Name, mm =>
            {
                mm.Mm.CapSysAdmin = p.CapSysAdmin;
                mm.Mm.RseqArea = p.Rseq;
                heapBase = Layout(k, mm, p, s.SourceName);
            }, null!, p.StartCycle);
            byName[p.Name] = e;
            if (k.Memcg is { } mc)
            {
                // Placed in its cgroup from the start, as a task exec'd inside it: its page tables so far move along.
                MmState mm = k.Tasks.MmOf(e);
                mc.AttachMm(mm.Id, mc.Find(p.Cgroup), mm.TablePages.Values.Select(t => t.Pfn).ToList());
                mc.Execed(mm.Id, mm.Mm, 0);
            }
            int? mainThread = p.Threads.Count > 0 ? 0 : null;
            var workload = OpenWorkload(p.Workload, s.SourceName, heapBase, 0, mainThread)
                ?? throw new InputException(s.SourceName, p.Line, p.Name, "a top-level process needs a workload");
            machine.SetWorkload(e, workload);
            for (int t = 0; t < p.Threads.Count; t++)
            {
                ThreadConfig tc = p.Threads[t];
                // Thread t + 1 of the process (the main thread is 0): a generator gets its own seed, a trace with a
                // process filter keeps this thread's records.
                var tw = OpenWorkload(tc.Workload, s.SourceName, heapBase, t + 1, t + 1)
                    ?? throw new InputException(s.SourceName, tc.Line, tc.Name, "a thread needs a workload");
                byName[tc.Name] = machine.AddThread(e, tc.Name, tw, tc.StartCycle);
            }
            if (p.Children is { } ch)
            {
                for (int i = 1; i <= ch.Count; i++)
                {
                    string childName = ForkChildrenConfig.ChildName(p.Name, i);
                    ScenarioWorkload? w = ch.WorkloadOf(i);
                    int idx = i;
                    var op = new AddressSpaceOp(AddressSpaceOpKind.Fork, e)
                    {
                        ChildName = childName,
                        ChildStartDelay = ch.StartDelay,
                        ChildWorkload = heap => OpenWorkload(w, s.SourceName, heap, idx) ?? new Workload(new EmptyTrace(childName)),
                    };
                    machine.ScheduleAfterAccesses((long)ch.AfterAccesses, op);
                }
            }
        }

        foreach (TimelineEvent ev in s.Timeline)
        {
            AddressSpaceOp op = ToOp(k, ev, s, byName, out bool targetExists);
            if (ev.Trigger == TimelineTrigger.AtCycle)
            {
                if (!targetExists)
                    throw new InputException(s.SourceName, ev.Line, ev.Process, "an 'at' event needs a process that exists from the start (use 'after' for forked children)");
                machine.ScheduleAt(ev.When, op);
            }
            else if (targetExists)
            {
                machine.ScheduleAfterAccesses((long)ev.When, op);
            }
            else
            {
                if (!pendingByName.TryGetValue(ev.Process, out var list))
                    pendingByName[ev.Process] = list = new();
                list.Add((ev, op));
            }
        }
    }

    /// <summary>Lays out a new process's address space; returns where its heap starts (generators default there).</summary>
    private static ulong Layout(Kernel.Kernel k, MmState mm, ProcessConfig p, string src)
    {
        switch (p.Layout)
        {
            case ScenarioExec x:
                {
                    var image = new ExecImage
                    {
                        TextSize = (ulong)x.TextBytes,
                        DataSize = (ulong)x.DataBytes,
                        BssSize = (ulong)x.BssBytes,
                        FileId = k.Files.Intern(x.File),
                        Filename = x.File,
                    };
                    mm.Mm.StackRlimit = (ulong)Math.Max(x.StackBytes, (long)Pte.PageSize);
                    AddressSpace.ExecLayout.Build(mm.Mm, image);
                    ulong heap = mm.Mm.Struct.StartBrk;
                    if (x.HeapBytes > 0)
                        mm.Mm.DoBrk(heap + (ulong)x.HeapBytes);
                    return heap;
                }
            case MapsFileLayout m:
                {
                    Mm parsed = ProcMaps.ParseFile(m.Path, k.Files, k.Options.Paging, mm.Id);
                    // Gate area (vsyscall) included, as in the maps command.
                    mm.Mm.ImportLayout(parsed);
                    return parsed.Struct.StartBrk;
                }
            case ScenarioInferred:
                mm.Inferred = new AddressSpace.InferredLayout(mm.Mm);
                return AddressSpace.InferredLayout.DefaultDataBase;
            default:
                throw new InputException(src, p.Line, p.Name, "unknown layout");
        }
    }

    /// <summary>
    /// Opens a workload. A generator without an explicit <c>base</c> runs over the process's heap, so its
    /// addresses are mapped; a fork child's generator gets its index mixed into the seed.
    /// </summary>
    private static Workload? OpenWorkload(ScenarioWorkload? w, string src, ulong heapBase, int childIndex, int? thread = null)
    {
        switch (w)
        {
            case null:
                return null;
            case GeneratorWorkload g:
                {
                    string spec = g.Spec;
                    bool hasBase = spec.Contains("base=", StringComparison.Ordinal) || spec.StartsWith("matmul:", StringComparison.Ordinal) && spec.Contains("a=", StringComparison.Ordinal);
                    if (!hasBase)
                        spec += string.Create(CultureInfo.InvariantCulture, $"{(spec.Contains(':') ? "," : ":")}base=0x{heapBase:x}");
                    if (childIndex > 0)
                        spec = MixSeed(spec, childIndex);
                    return new Workload(WorkloadSpec.Parse(spec, src, g.Line).Create());
                }
            case TraceWorkload t:
                {
                    string format = t.Format.ToString().ToLowerInvariant();
                    ITraceReader reader = TraceFormats.OpenReader(format, t.Path, src, t.Line);
                    if (t.ProcessFilter is { } f)
                    {
                        int pid = int.Parse(f, CultureInfo.InvariantCulture);
                        reader = thread is { } tid ? new ThreadFilterReader(reader, pid, (byte)tid) : new ProcessFilterReader(reader, pid);
                    }
                    return new Workload(reader);
                }
            default:
                throw new InputException(src, w.Line, w.ToString() ?? "", "unknown workload");
        }
    }

    private static string MixSeed(string spec, int index)
    {
        int at = spec.IndexOf("seed=", StringComparison.Ordinal);
        if (at < 0)
            return spec + string.Create(CultureInfo.InvariantCulture, $",seed={1000 + index}");
        int end = spec.IndexOf(',', at);
        string value = end < 0 ? spec[(at + 5)..] : spec[(at + 5)..end];
        // The seed as WorkloadSpec reads it (decimal, or hex with 0x). A value it would reject is left as it is, so
        // WorkloadSpec.Parse reports it with the scenario's file and line.
        bool ok = value.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong parsed)
            : ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out parsed);
        if (!ok)
            return spec;
        ulong seed = unchecked(parsed * 1000 + (ulong)index);
        return spec[..(at + 5)] + seed.ToString(CultureInfo.InvariantCulture) + (end < 0 ? "" : spec[end..]);
    }

    private static AddressSpaceOp ToOp(Kernel.Kernel k, TimelineEvent ev, Scenario s, Dictionary<string, Entity> byName, out bool exists)
    {
        exists = byName.TryGetValue(ev.Process, out Entity target);
        return ev.Op switch
        {
            MmapOp m => new AddressSpaceOp(AddressSpaceOpKind.Mmap, target)
            {
                Addr = m.Address ?? 0,
                Len = (ulong)m.Length,
                Prot = ToProt(m.Protection),
                Flags = (m.Shared ? MapFlags.Shared : MapFlags.Private) | (m.File is null && m.Fd is null ? MapFlags.Anonymous : MapFlags.None) | (m.Fixed ? MapFlags.Fixed : MapFlags.None)
                    | (m.Locked ? MapFlags.Locked : MapFlags.None) | (m.NoReserve ? MapFlags.NoReserve : MapFlags.None)
                    | (m.Populate ? MapFlags.Populate : MapFlags.None) | (m.HugeTlb ? MapFlags.HugeTlb : MapFlags.None),
                FileId = m.File is null ? -1 : k.Files.Intern(m.File),
                PgOff = (ulong)m.FileOffset / Pte.PageSize,
                Fd = m.Fd ?? -1,
            },
            OpenOp o => new AddressSpaceOp(AddressSpaceOpKind.Open, target) { FileId = k.Files.Intern(o.File), Fd = o.Fd, OpenFlags = (Filemap.OpenFiles.OpenFlags)(int)o.Flags },
            WriteOp w => new AddressSpaceOp(AddressSpaceOpKind.Write, target) { Fd = w.Fd, Len = (ulong)w.Length, Offset = w.Offset ?? -1, ZeroData = w.Zero, Piece = w.Piece ?? 0 },
            ReadOp r => new AddressSpaceOp(AddressSpaceOpKind.Read, target) { Fd = r.Fd, Len = (ulong)r.Length, Offset = r.Offset ?? -1 },
            FallocateOp fa => new AddressSpaceOp(AddressSpaceOpKind.Fallocate, target) { Fd = fa.Fd, Advice = fa.Mode, Offset = fa.Offset, Len = (ulong)fa.Length },
            UnlinkOp u => new AddressSpaceOp(AddressSpaceOpKind.Unlink, target) { FileId = k.Files.Intern(u.File) },
            MemfdCreateOp c => new AddressSpaceOp(AddressSpaceOpKind.MemfdCreate, target) { Name = c.Name, Fd = c.Fd, Advice = c.CloExec ? 1 : 0 },
            FtruncateOp t => new AddressSpaceOp(AddressSpaceOpKind.Ftruncate, target) { Fd = t.Fd, Len = (ulong)t.Length },
            FsyncOp f => new AddressSpaceOp(AddressSpaceOpKind.Fsync, target) { Fd = f.Fd, Advice = f.DataOnly ? 1 : 0 },
            CloseOp c => new AddressSpaceOp(AddressSpaceOpKind.Close, target) { Fd = c.Fd },
            MunmapOp u => new AddressSpaceOp(AddressSpaceOpKind.Munmap, target) { Addr = u.Address, Len = (ulong)u.Length },
            MprotectOp p => new AddressSpaceOp(AddressSpaceOpKind.Mprotect, target) { Addr = p.Address, Len = (ulong)p.Length, Prot = ToProt(p.Protection) },
            BrkOp b => b.Delta is { } d
                ? new AddressSpaceOp(AddressSpaceOpKind.Brk, target) { BrkDelta = true, SignedDelta = d }
                : new AddressSpaceOp(AddressSpaceOpKind.Brk, target) { Addr = b.NewBreak ?? 0 },
            ForkOp f => new AddressSpaceOp(AddressSpaceOpKind.Fork, target)
            {
                ChildName = f.Child,
                ChildWorkload = heap => OpenWorkload(f.Workload, s.SourceName, heap, 1) ?? new Workload(new EmptyTrace(f.Child)),
                WaitChild = f.Wait,
            },
            ExitOp => new AddressSpaceOp(AddressSpaceOpKind.Exit, target),
            PauseOp => new AddressSpaceOp(AddressSpaceOpKind.Pause, target),
            ZeroFillOp z => new AddressSpaceOp(AddressSpaceOpKind.ZeroFill, target) { Addr = z.Address, Len = (ulong)z.Length },
            MadviseOp a => new AddressSpaceOp(AddressSpaceOpKind.Madvise, target) { Addr = a.Address, Len = (ulong)a.Length, Advice = (int)a.Advice },
            FadviseOp f => new AddressSpaceOp(AddressSpaceOpKind.Fadvise, target)
            {
                FileId = k.Files.Intern(f.File),
                Offset = f.Offset,
                Len = (ulong)f.Length,
                Advice = (int)f.Advice,
            },
            MremapOp r => new AddressSpaceOp(AddressSpaceOpKind.Mremap, target)
            {
                Addr = r.Address,
                Len = (ulong)r.OldLength,
                NewLen = (ulong)r.NewLength,
                NewAddr = r.NewAddress,
                MremapFlags = r.Flags,
            },
            MlockOp l => new AddressSpaceOp(l.Unlock ? AddressSpaceOpKind.Munlock : AddressSpaceOpKind.Mlock, target) { Addr = l.Address, Len = (ulong)l.Length, Advice = l.OnFault ? 1 : 0 },
            MlockallOp a => new AddressSpaceOp(a.Unlock ? AddressSpaceOpKind.Munlockall : AddressSpaceOpKind.Mlockall, target) { Advice = a.Flags },
            DropCachesOp d => new AddressSpaceOp(AddressSpaceOpKind.DropCaches, target) { Advice = d.Value },
            _ => throw new InputException(s.SourceName, ev.Line, ev.Op.ToString() ?? "", "unknown timeline operation"),
        };
    }

    private static Prot ToProt(Protection p) =>
        ((p & Protection.Read) != 0 ? Prot.Read : Prot.None)
        | ((p & Protection.Write) != 0 ? Prot.Write : Prot.None)
        | ((p & Protection.Exec) != 0 ? Prot.Exec : Prot.None);
}
