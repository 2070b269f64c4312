using System.Globalization;
using System.Text;

namespace EcsMem.Scenarios;

/// <summary>
/// Writes a <see cref="Scenario"/> back as YAML with every setting explicit (defaults filled in), e.g. to show
/// the effective configuration of a run or to start a new file from the default scenario. The output parses back
/// to an equal model, and writing that model again gives the same bytes.
/// </summary>
public static class ScenarioWriter
{
    /// <summary>The scenario as canonical YAML text ('\n' line ends, invariant culture).</summary>
    public static string ToYaml(Scenario scenario)
    {
        var w = new StringBuilder();
        if (scenario.Description is { } d)
            w.Append("description: ").Append(Quote(d)).Append('\n');
        WriteMachine(w, scenario.Machine);
        if (scenario.Cgroups.Count > 0)
        {
            w.Append("cgroups:\n");
            foreach (CgroupConfig c in scenario.Cgroups)
            {
                static string L(long v) => v == CgroupConfig.Unlimited ? "max" : v.ToString(CultureInfo.InvariantCulture);
                w.Append("  - {name: ").Append(Quote(c.Name));
                if (c.Parent is { } parent)
                    w.Append(", parent: ").Append(Quote(parent));
                w.Append(", memory.max: ").Append(L(c.Max)).Append(", memory.high: ").Append(L(c.High))
                    .Append(", memory.low: ").Append(L(c.Low)).Append(", memory.min: ").Append(L(c.Min))
                    .Append(", memory.swap.max: ").Append(L(c.SwapMax)).Append("}\n");
            }
        }
        w.Append("processes:\n");
        foreach (var p in scenario.Processes)
            WriteProcess(w, p);
        if (scenario.Timeline.Count > 0)
        {
            w.Append("timeline:\n");
            foreach (var e in scenario.Timeline)
                WriteEvent(w, e);
        }
        return w.ToString();
    }

    /// <summary>Writes <see cref="ToYaml"/> to <paramref name="writer"/>.</summary>
    public static void Write(Scenario scenario, TextWriter writer) => writer.Write(ToYaml(scenario));

    private static void WriteMachine(StringBuilder w, MachineConfig m)
    {
        w.Append("machine:\n");
        Line(w, 1, "cpu", m.Cpu == CpuGeometrySource.Host ? "host" : "default");
        Line(w, 1, "cpus", Num(m.Cpus));
        Line(w, 1, "ram", Num(m.RamBytes));
        Line(w, 1, "swap", Num(m.SwapBytes));
        Line(w, 1, "page_size", Num(m.PageSize));
        Line(w, 1, "paging", m.Paging.Name());
        // cpu: host reads the caches from sysfs and forbids a caches section.
        if (m.Cpu == CpuGeometrySource.Configured)
        {
            w.Append("  caches:\n");
            Cache(w, "l1i", m.L1i);
            Cache(w, "l1d", m.L1d);
            Cache(w, "l2", m.L2);
            Cache(w, "l3", m.L3);
        }
        w.Append("  tlb:\n");
        Tlb(w, "dtlb", m.Dtlb);
        Tlb(w, "itlb", m.Itlb);
        Tlb(w, "stlb", m.Stlb);
        Tlb(w, "dtlb_2m", m.Dtlb2M);
        Tlb(w, "itlb_2m", m.Itlb2M);
        if (m.Psc is { } psc)
        {
            w.Append("    psc:\n");
            for (int level = 1; level <= PscConfig.Keys.Length; level++)
                if (psc.At(level) is { } c)
                    Line(w, 3, PscConfig.Keys[level - 1], $"{{entries: {Num(c.Entries)}, ways: {Num(c.Ways)}}}");
        }
        var l = m.Latency;
        w.Append("  latency:\n");
        Line(w, 2, "l1", Num(l.L1));
        Line(w, 2, "l2", Num(l.L2));
        Line(w, 2, "l3", Num(l.L3));
        Line(w, 2, "memory", Num(l.Memory));
        Line(w, 2, "stlb", Num(l.Stlb));
        Line(w, 2, "walk_level", Num(l.WalkLevel));
        Line(w, 2, "minor_fault", Num(l.MinorFault));
        Line(w, 2, "major_fault", Num(l.MajorFault));
        Line(w, 2, "disk_page", Num(l.DiskPage));
        Line(w, 2, "swap_write", Num(l.SwapWrite));
        Line(w, 2, "shootdown", Num(l.Shootdown));
        Line(w, 2, "context_switch", Num(l.ContextSwitch));
        Line(w, 2, "clear_huge_page", Num(l.ClearHugePage));
        w.Append("  policy:\n");
        Line(w, 2, "name", Quote(m.Policy.Name));
        if (m.Policy.Options.Count > 0)
        {
            w.Append("    options:\n");
            foreach (var o in m.Policy.Options)
                Line(w, 3, Quote(o.Key), Quote(o.Value));
        }
        if (m.MinFreeKbytes is { } mfk)
            Line(w, 1, "min_free_kbytes", Num(mfk));
        Line(w, 1, "swappiness", Num(m.Swappiness));
        if (m.WatermarkBoostFactor != MachineConfig.Default.WatermarkBoostFactor)
            Line(w, 1, "watermark_boost_factor", Num(m.WatermarkBoostFactor));
        if (m.CompactionProactiveness != MachineConfig.Default.CompactionProactiveness)
            Line(w, 1, "compaction_proactiveness", Num(m.CompactionProactiveness));
        Line(w, 1, "page_cluster", Num(m.PageCluster));
        Line(w, 1, "swap_readahead", m.SwapVmaReadahead ? "vma" : "cluster");
        if (m.SwapRaHits != MachineConfig.Default.SwapRaHits)
            Line(w, 1, "swap_ra_hits", Num(m.SwapRaHits));
        if (m.SwapRaWindow != MachineConfig.Default.SwapRaWindow)
            Line(w, 1, "swap_ra_window", Num(m.SwapRaWindow));
        if (m.SwapRaPrevOffset != MachineConfig.Default.SwapRaPrevOffset)
            Line(w, 1, "swap_ra_prev_offset", Num(m.SwapRaPrevOffset));
        if (!m.SwapRaClearReclaim)
            Line(w, 1, "swap_ra_clear_reclaim", "false");
        if (m.WritebackAsync)
            Line(w, 1, "writeback", "async");
        if (m.SwapBlockDevice)
            Line(w, 1, "swap_type", "partition");
        if (m.DiskMaxSegments != MachineConfig.DefaultDiskMaxSegments)
            Line(w, 1, "disk_max_segments", Num(m.DiskMaxSegments));
        if (m.DiskQueueDepth != 1)
            Line(w, 1, "disk_queue_depth", Num(m.DiskQueueDepth));
        if (m.ReclaimCost != new ReclaimCostConfig())
        {
            w.Append("  reclaim_cost:\n");
            long[] rc = m.ReclaimCost.Values;
            for (int i = 0; i < rc.Length; i++)
                Line(w, 2, ReclaimCostConfig.Keys[i], Num(rc[i]));
        }
        if (m.CgroupVersion != 2)
            Line(w, 1, "cgroup_version", Num(m.CgroupVersion));
        // The dirty-page knobs only when one differs from Linux's default (older scenarios print as before).
        var dd = new MachineConfig();
        if (m.DirtyBackgroundBytes != 0)
            Line(w, 1, "dirty_background_bytes", Num(m.DirtyBackgroundBytes));
        else if (m.DirtyBackgroundRatio != dd.DirtyBackgroundRatio)
            Line(w, 1, "dirty_background_ratio", Num(m.DirtyBackgroundRatio));
        if (m.DirtyBytes != 0)
            Line(w, 1, "dirty_bytes", Num(m.DirtyBytes));
        else if (m.DirtyRatio != dd.DirtyRatio)
            Line(w, 1, "dirty_ratio", Num(m.DirtyRatio));
        if (m.DirtyExpireCentisecs != dd.DirtyExpireCentisecs)
            Line(w, 1, "dirty_expire_centisecs", Num(m.DirtyExpireCentisecs));
        if (m.DirtyWritebackCentisecs != dd.DirtyWritebackCentisecs)
            Line(w, 1, "dirty_writeback_centisecs", Num(m.DirtyWritebackCentisecs));
        Line(w, 1, "fault_around_bytes", Num(m.FaultAroundBytes));
        Line(w, 1, "read_ahead_kb", Num(m.ReadAheadKb));
        if (!m.LargeFolios)
            Line(w, 1, "large_folios", "false");
        if (!m.ReadaheadRequests)
            Line(w, 1, "readahead_requests", "false");
        if (!m.PerCpuPages)
            Line(w, 1, "per_cpu_pages", "false");
        if (!m.PcpHighTuning)
            Line(w, 1, "pcp_high_tuning", "false");
        if (!m.PcpHighOrder)
            Line(w, 1, "pcp_high_order", "false");
        if (m.SwapinFaultInWindow)
            Line(w, 1, "swapin_fault_in_window", "true");
        if (m.SwapRaPlugFlush)
            Line(w, 1, "swap_ra_plug_flush", "true");
        if (!m.ChargeAfterAlloc)
            Line(w, 1, "charge_after_alloc", "false");
        if (!m.ReclaimFreeBatch)
            Line(w, 1, "reclaim_free_batch", "false");
        Line(w, 1, "overcommit_memory", Num(m.OvercommitMemory));
        if (m.ReadaheadQueue)
            Line(w, 1, "readahead_queue", "true");
        if (m.OvercommitKbytes != 0)
            Line(w, 1, "overcommit_kbytes", Num(m.OvercommitKbytes));
        else
            Line(w, 1, "overcommit_ratio", Num(m.OvercommitRatio));
        if (m.AdminReserveKbytes is { } ark)
            Line(w, 1, "admin_reserve_kbytes", Num(ark));
        if (m.UserReserveKbytes is { } urk)
            Line(w, 1, "user_reserve_kbytes", Num(urk));
        if (m.FreeArea is { } fa)
        {
            Line(w, 1, "free_area", "[" + string.Join(", ", fa.Blocks.Select(Num)) + "]");
            if (fa.CachePages != 0)
                Line(w, 1, "free_area_cache", $"{{inactive_file: {Num(fa.InactiveFile)}, active_file: {Num(fa.ActiveFile)}}}");
        }
        if (m.Hugetlb != new HugetlbConfig())
            Line(w, 1, "hugetlb", $"{{nr_hugepages: {m.Hugetlb.NrHugepages}, nr_overcommit_hugepages: {m.Hugetlb.NrOvercommitHugepages}}}");
        Line(w, 1, "thp", $"{{enabled: {ThpConfig.EnabledNames[(int)m.Thp.Enabled]}, defrag: {ThpConfig.DefragNames[(int)m.Thp.Defrag]}, use_zero_page: {(m.Thp.UseZeroPage ? "true" : "false")}{Khugepaged(m.Thp.Khugepaged)}{MthpSizes(m.Thp)}}}");
        if (m.LruGen != LruGenConfig.Default)
            Line(w, 1, "lru_gen", $"{{enabled: \"{m.LruGen.EnabledText}\", min_ttl_ms: {Num(m.LruGen.MinTtlMs)}}}");
        Line(w, 1, "pcid", m.Pcid ? "true" : "false");
        Line(w, 1, "quantum", Num(m.Quantum));
        Line(w, 1, "smp_epoch", Num(m.SmpEpoch));
        Line(w, 1, "batch", Num(m.BatchSize));
        Line(w, 1, "seed", m.Seed.ToString(CultureInfo.InvariantCulture));
    }

    private static void Cache(StringBuilder w, string name, CacheConfig c) =>
        Line(w, 2, name, $"{{size: {Num(c.SizeBytes)}, ways: {Num(c.Ways)}, line: {Num(c.LineBytes)}, inclusion: {(c.Inclusion == CacheInclusion.Inclusive ? "inclusive" : "non-inclusive")}, shared: {(c.Shared ? "true" : "false")}}}");

    private static void Tlb(StringBuilder w, string name, TlbConfig t) =>
        Line(w, 2, name, $"{{entries: {Num(t.Entries)}, ways: {Num(t.Ways)}}}");

    private static void WriteProcess(StringBuilder w, ProcessConfig p)
    {
        w.Append("  - name: ").Append(Quote(p.Name)).Append('\n');
        Line(w, 2, "start", p.StartCycle.ToString(CultureInfo.InvariantCulture));
        if (!p.CapSysAdmin)
            Line(w, 2, "cap_sys_admin", "false");
        if (p.Cgroup is { } cgroup)
            Line(w, 2, "cgroup", Quote(cgroup));
        if (p.Rseq != 0)
            Line(w, 2, "rseq", "0x" + p.Rseq.ToString("x", CultureInfo.InvariantCulture));
        switch (p.Layout)
        {
            case ExecLayout e:
                w.Append("    layout:\n      exec:\n");
                Line(w, 4, "file", Quote(e.File));
                Line(w, 4, "text", Num(e.TextBytes));
                Line(w, 4, "data", Num(e.DataBytes));
                Line(w, 4, "bss", Num(e.BssBytes));
                Line(w, 4, "heap", Num(e.HeapBytes));
                Line(w, 4, "stack", Num(e.StackBytes));
                Line(w, 4, "args_env", Num(e.ArgsEnvBytes));
                break;
            case MapsFileLayout m:
                Line(w, 2, "layout", "{maps: " + Quote(m.Path) + "}");
                break;
            default:
                Line(w, 2, "layout", "infer");
                break;
        }
        Line(w, 2, "workload", WorkloadText(p.Workload));
        if (p.Threads.Count > 0)
        {
            w.Append("    threads:\n");
            foreach (var t in p.Threads)
            {
                w.Append("      - name: ").Append(Quote(t.Name)).Append('\n');
                Line(w, 4, "start", t.StartCycle.ToString(CultureInfo.InvariantCulture));
                Line(w, 4, "workload", WorkloadText(t.Workload));
            }
        }
        if (p.Children is { } c)
        {
            w.Append("    children:\n");
            Line(w, 3, "count", Num(c.Count));
            Line(w, 3, "after", c.AfterAccesses.ToString(CultureInfo.InvariantCulture));
            if (c.Workload is { } cw)
                Line(w, 3, "workload", WorkloadText(cw));
            if (c.StartDelay != 0)
                Line(w, 3, "start_delay", c.StartDelay.ToString(CultureInfo.InvariantCulture));
            if (c.Workloads is { } list)
            {
                w.Append("      workloads:\n");
                foreach (Workload cw2 in list)
                    w.Append("        - ").Append(WorkloadText(cw2)).Append('\n');
            }
        }
    }

    private static void WriteEvent(StringBuilder w, TimelineEvent e)
    {
        w.Append("  - ").Append(e.Trigger == TimelineTrigger.AtCycle ? "at" : "after").Append(": ")
            .Append(e.When.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Line(w, 2, "process", Quote(e.Process));
        string op = e.Op switch
        {
            MmapOp m => "mmap: {" + string.Join(", ", MmapFields(m)) + "}",
            MunmapOp u => $"munmap: {{addr: {Hex(u.Address)}, length: {Num(u.Length)}}}",
            MprotectOp p => $"mprotect: {{addr: {Hex(p.Address)}, length: {Num(p.Length)}, prot: {Quote(ProtectionText.Format(p.Protection))}}}",
            BrkOp { Delta: { } d } => $"brk: {{delta: {Num(d)}}}",
            BrkOp b => $"brk: {{to: {Hex(b.NewBreak ?? 0)}}}",
            ForkOp { Workload: { } fw } f => $"fork: {{child: {Quote(f.Child)}, workload: {WorkloadText(fw)}{(f.Wait ? ", wait: true" : "")}}}",
            ForkOp f => $"fork: {{child: {Quote(f.Child)}{(f.Wait ? ", wait: true" : "")}}}",
            ZeroFillOp z => $"zero_fill: {{addr: {Hex(z.Address)}, length: {Num(z.Length)}}}",
            MadviseOp a => $"madvise: {{addr: {Hex(a.Address)}, length: {Num(a.Length)}, advice: {a.Advice.ToString().ToLowerInvariant()}}}",
            MlockOp { Unlock: true } u => $"munlock: {{addr: {Hex(u.Address)}, length: {Num(u.Length)}}}",
            MlockOp l => $"mlock: {{addr: {Hex(l.Address)}, length: {Num(l.Length)}, onfault: {(l.OnFault ? "true" : "false")}}}",
            MlockallOp { Unlock: true } => "munlockall: {}",
            MlockallOp a => "mlockall: {flags: " + Quote(string.Join("|", new[] { (1, "current"), (2, "future"), (4, "onfault") }.Where(x => (a.Flags & x.Item1) != 0).Select(x => x.Item2))) + "}",
            OpenOp { Flags: OpenFlagSet.None } o => $"open: {{file: {Quote(o.File)}, fd: {Num(o.Fd)}}}",
            OpenOp o => $"open: {{file: {Quote(o.File)}, fd: {Num(o.Fd)}, flags: {Quote(OpenFlagsText(o.Flags))}}}",
            WriteOp { Offset: { } off } wr => $"write: {{fd: {Num(wr.Fd)}, length: {Num(wr.Length)}, offset: {Num(off)}{(wr.Zero ? ", zero: true" : "")}{(wr.Piece is { } pc ? $", piece: {Num(pc)}" : "")}}}",
            WriteOp wr => $"write: {{fd: {Num(wr.Fd)}, length: {Num(wr.Length)}{(wr.Zero ? ", zero: true" : "")}{(wr.Piece is { } pc ? $", piece: {Num(pc)}" : "")}}}",
            ReadOp { Offset: { } off } rd => $"read: {{fd: {Num(rd.Fd)}, length: {Num(rd.Length)}, offset: {Num(off)}}}",
            ReadOp rd => $"read: {{fd: {Num(rd.Fd)}, length: {Num(rd.Length)}}}",
            FallocateOp fa => $"fallocate: {{fd: {Num(fa.Fd)}, offset: {Num(fa.Offset)}, length: {Num(fa.Length)}" + (fa.Mode != 0 ? $", mode: {Quote(string.Join("|", new[] { (1, "keep_size"), (2, "punch_hole") }.Where(x => (fa.Mode & x.Item1) != 0).Select(x => x.Item2)))}" : "") + "}",
            UnlinkOp ul => $"unlink: {{file: {Quote(ul.File)}}}",
            MemfdCreateOp c => $"memfd_create: {{name: {Quote(c.Name)}, fd: {Num(c.Fd)}, cloexec: {(c.CloExec ? "true" : "false")}}}",
            FtruncateOp t => $"ftruncate: {{fd: {Num(t.Fd)}, length: {Num(t.Length)}}}",
            FsyncOp f => $"{(f.DataOnly ? "fdatasync" : "fsync")}: {{fd: {Num(f.Fd)}}}",
            CloseOp c => $"close: {{fd: {Num(c.Fd)}}}",
            MremapOp r => $"mremap: {{addr: {Hex(r.Address)}, old_length: {Num(r.OldLength)}, new_length: {Num(r.NewLength)}, flags: {Quote(MremapFlagsText(r.Flags))}, new_addr: {Hex(r.NewAddress)}}}",
            PauseOp => "pause: {}",
            _ => "exit: {}",
        };
        w.Append("    ").Append(op).Append('\n');
    }

    private static string MremapFlagsText(MremapFlags f)
    {
        var words = new List<string>();
        if ((f & MremapFlags.MayMove) != 0)
            words.Add("maymove");
        if ((f & MremapFlags.Fixed) != 0)
            words.Add("fixed");
        if ((f & MremapFlags.DontUnmap) != 0)
            words.Add("dontunmap");
        return words.Count == 0 ? "none" : string.Join("|", words);
    }

    private static List<string> MmapFields(MmapOp m)
    {
        var f = new List<string>();
        if (m.Address is { } a)
            f.Add("addr: " + Hex(a));
        f.Add("length: " + Num(m.Length));
        f.Add("prot: " + Quote(ProtectionText.Format(m.Protection)));
        f.Add("flags: " + (m.Shared ? "shared" : "private"));
        if (m.File is { } file)
        {
            f.Add("file: " + Quote(file));
            f.Add("offset: " + Num(m.FileOffset));
        }
        else if (m.Fd is { } fd)
        {
            f.Add("fd: " + Num(fd));
            f.Add("offset: " + Num(m.FileOffset));
        }
        f.Add("fixed: " + (m.Fixed ? "true" : "false"));
        if (m.HugeTlb)
            f.Add("hugetlb: true");
        return f;
    }

    private static string WorkloadText(Workload w) => w switch
    {
        GeneratorWorkload g => "{generator: " + Quote(g.Spec) + "}",
        TraceWorkload t => "{trace: {path: " + Quote(t.Path) + ", format: " + t.Format.ToString().ToLowerInvariant()
            + (t.ProcessFilter is { } pf ? ", process: " + Quote(pf) : "") + "}}",
        _ => throw new ArgumentException("unknown workload type " + w.GetType().Name, nameof(w)),
    };

    private static void Line(StringBuilder w, int depth, string key, string value) =>
        w.Append(' ', depth * 2).Append(key).Append(": ").Append(value).Append('\n');

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>A YAML double-quoted scalar: safe for any text, including words YAML would otherwise read as null or bool.</summary>
    private static string Quote(string s)
    {
        var b = new StringBuilder(s.Length + 2).Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': b.Append("\\\""); break;
                case '\\': b.Append("\\\\"); break;
                case '\n': b.Append("\\n"); break;
                case '\t': b.Append("\\t"); break;
                case '\r': b.Append("\\r"); break;
                default:
                    if (char.IsControl(c))
                        b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        b.Append(c);
                    break;
            }
        }
        return b.Append('"').ToString();
    }
    /// <summary>The <c>sizes</c> map inside <c>thp</c> (mTHP), written only when some size is not <c>never</c>.</summary>
    private static string MthpSizes(ThpConfig t)
    {
        if (!t.AnyMthp)
            return "";
        var b = new StringBuilder(", sizes: {");
        for (int i = 0; i < ThpConfig.SizeNames.Length; i++)
        {
            int bit = 1 << (i + ThpConfig.MinAnonOrder);
            string mode = (t.AnonOrdersAlways & bit) != 0 ? "always" : (t.AnonOrdersMadvise & bit) != 0 ? "madvise" : (t.AnonOrdersInherit & bit) != 0 ? "inherit" : "never";
            b.Append(i == 0 ? "" : ", ").Append(ThpConfig.SizeNames[i]).Append(": ").Append(mode);
        }
        return b.Append('}').ToString();
    }

    /// <summary>The <c>khugepaged</c> map inside <c>thp</c>, written only when some knob differs from Linux's default.</summary>
    private static string Khugepaged(KhugepagedConfig k) => k == KhugepagedConfig.Default
        ? ""
        : string.Create(CultureInfo.InvariantCulture,
            $", khugepaged: {{pages_to_scan: {k.PagesToScan}, scan_sleep_millisecs: {k.ScanSleepMillisecs}, alloc_sleep_millisecs: {k.AllocSleepMillisecs}, max_ptes_none: {k.MaxPtesNone}, max_ptes_swap: {k.MaxPtesSwap}, max_ptes_shared: {k.MaxPtesShared}}}");

    /// <summary>open's flags as the scenario writes them (<c>creat|excl|trunc|rdonly|wronly</c>).</summary>
    private static string OpenFlagsText(OpenFlagSet f) =>
        string.Join("|", new[] { (OpenFlagSet.Creat, "creat"), (OpenFlagSet.Excl, "excl"), (OpenFlagSet.Trunc, "trunc"), (OpenFlagSet.Append, "append"), (OpenFlagSet.RdOnly, "rdonly"), (OpenFlagSet.WrOnly, "wronly") }
            .Where(x => (f & x.Item1) != 0).Select(x => x.Item2));
}
