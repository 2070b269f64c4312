using System.Globalization;
using System.Text;
using System.Text.Json;
using EcsMem.Components;

namespace EcsMem.Systems.Reporting;

/// <summary>The text and JSON forms of the <c>--snapshot</c> sections (docs/report.md).</summary>
public static class SnapshotFormat
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // Linux's names for the vm_flags bits (include/linux/mm.h), lowest bit first.
    private static readonly (VmFlags Flag, string Name)[] Names =
    [
        (VmFlags.Read, "VM_READ"), (VmFlags.Write, "VM_WRITE"), (VmFlags.Exec, "VM_EXEC"), (VmFlags.Shared, "VM_SHARED"),
        (VmFlags.MayRead, "VM_MAYREAD"), (VmFlags.MayWrite, "VM_MAYWRITE"), (VmFlags.MayExec, "VM_MAYEXEC"),
        (VmFlags.MayShare, "VM_MAYSHARE"), (VmFlags.GrowsDown, "VM_GROWSDOWN"), (VmFlags.UffdMissing, "VM_UFFD_MISSING"),
        (VmFlags.PfnMap, "VM_PFNMAP"), (VmFlags.UffdWp, "VM_UFFD_WP"), (VmFlags.Locked, "VM_LOCKED"), (VmFlags.Io, "VM_IO"),
        (VmFlags.SeqRead, "VM_SEQ_READ"), (VmFlags.RandRead, "VM_RAND_READ"), (VmFlags.DontCopy, "VM_DONTCOPY"),
        (VmFlags.DontExpand, "VM_DONTEXPAND"), (VmFlags.LockOnFault, "VM_LOCKONFAULT"), (VmFlags.Account, "VM_ACCOUNT"),
        (VmFlags.NoReserve, "VM_NORESERVE"), (VmFlags.HugeTlb, "VM_HUGETLB"), (VmFlags.Sync, "VM_SYNC"),
        (VmFlags.WipeOnFork, "VM_WIPEONFORK"), (VmFlags.DontDump, "VM_DONTDUMP"), (VmFlags.SoftDirty, "VM_SOFTDIRTY"),
        (VmFlags.MixedMap, "VM_MIXEDMAP"), (VmFlags.HugePage, "VM_HUGEPAGE"), (VmFlags.NoHugePage, "VM_NOHUGEPAGE"),
        (VmFlags.Mergeable, "VM_MERGEABLE"),
    ];

    /// <summary>vm_flags as Linux's names joined by '|', lowest bit first; "0" when none is set.</summary>
    public static string FlagNames(VmFlags flags)
    {
        var parts = new List<string>();
        foreach (var (flag, name) in Names)
            if ((flags & flag) != 0)
                parts.Add(name);
        return parts.Count == 0 ? "0" : string.Join('|', parts);
    }

    /// <summary>The mm_struct table of the seed, in its order: (field, value as printed, value as a number or null).</summary>
    public static List<(string Field, string Text, ulong? Value)> MmFields(in MmStruct s)
    {
        static (string, string, ulong?) N(string f, ulong v, string unit = "") => (f, v.ToString(Inv) + unit, v);
        static (string, string, ulong?) H(string f, ulong v) => (f, "0x" + v.ToString("x", Inv), v);
        return
        [
            N("map_count", (ulong)s.MapCount),
            N("total_vm", s.TotalVm, " pages"),
            N("rss_anon", s.RssAnon, " pages"),
            N("rss_file", s.RssFile, " pages"),
            N("rss_shmem", s.RssShmem, " pages"),
            N("swap_ents", s.SwapEnts, " pages"),
            N("locked_vm", s.LockedVm, " pages"),
            N("data_vm", s.DataVm, " pages"),
            N("exec_vm", s.ExecVm, " pages"),
            N("stack_vm", s.StackVm, " pages"),
            N("nr_ptes", s.NrPtes, " pages"),
            N("pgtables_bytes", s.PgtablesBytes),
            H("start_code", s.StartCode), H("end_code", s.EndCode),
            H("start_data", s.StartData), H("end_data", s.EndData),
            H("start_brk", s.StartBrk), H("brk", s.Brk),
            H("start_stack", s.StartStack),
            H("arg_start", s.ArgStart), H("arg_end", s.ArgEnd),
            H("env_start", s.EnvStart), H("env_end", s.EnvEnd),
            N("mm_users", (ulong)s.MmUsers),
            N("mm_count", (ulong)s.MmCount),
            H("mmap_base", s.MmapBase),
            H("task_size", s.TaskSize),
            s.Pgd < 0 ? ("pgd", "none (no page table yet)", null) : ("pgd", "page-table page " + s.Pgd.ToString(Inv), (ulong)s.Pgd),
        ];
    }

    /// <summary>The header line's moment: "t=CYCLES, N accesses".</summary>
    private static string Moment(Snapshot s) => string.Create(Inv, $"t={s.Cycles}, {s.Accesses} accesses");

    /// <summary>Appends one text section per snapshot.</summary>
    public static void AppendText(StringBuilder sb, IReadOnlyList<Snapshot> snapshots)
    {
        foreach (Snapshot s in snapshots)
        {
            if (!s.Reached)
            {
                if (s.NotTakenBecause is { } why)
                    sb.Append(Inv, $"\n== snapshot at {s.When} (not taken: {why}) ==\n");
                else
                    sb.Append(Inv, $"\n== snapshot at {s.When} (not reached: the run ended at {Moment(s)}) ==\n");
                continue;
            }
            sb.Append(Inv, $"\n== snapshot at {s.When} ({Moment(s)}) ==\n");
            if (s.Peak is { } peak)
            {
                if (peak.AtStart)
                    sb.Append(Inv, $"  (least free memory: {peak.FreePages} pages, {peak.FreePages * 4} kB, before the first tick: no allocation of the run went lower)\n");
                else
                    sb.Append(Inv, $"  (least free memory: {peak.FreePages} pages, {peak.FreePages * 4} kB, first reached by page allocation {peak.AllocCount}: taken right after it, inside its tick)\n");
            }
            else
                sb.Append("  (taken between two ticks; values in pages unless stated)\n");
            if (s.Processes.Count == 0)
                sb.Append("  (no live process: every address space has been torn down)\n");
            foreach (ProcessSnapshot p in s.Processes)
            {
                sb.Append(Inv, $"\n-- pid {p.Pid} ({p.Name}, {p.State}): mm_struct --\n");
                foreach (var (field, text, _) in MmFields(p.Mm))
                    sb.Append(Inv, $"  {field,-16} {text}\n");
                sb.Append(Inv, $"\n-- /proc/{p.Pid}/maps --\n");
                foreach (VmaSnapshot v in p.Vmas)
                    sb.Append(v.MapsLine).Append('\n');
                sb.Append(Inv, $"\n-- pid {p.Pid}: vm_area_struct (vm_start-vm_end vm_pgoff vm_ops vm_flags) --\n");
                foreach (VmaSnapshot v in p.Vmas)
                    sb.Append(Inv, $"  {v.Start:x8}-{v.End:x8} {v.PgOff,10:x} {v.KindName,-9} 0x{(ulong)v.Flags:x8} {v.FlagNames}\n");
                if (p.SmapsRollup is { } rollup)
                {
                    sb.Append(Inv, $"\n-- /proc/{p.Pid}/smaps_rollup --\n");
                    SmapsRollup.AppendTo(sb, rollup);
                }
                if (p.Smaps is { } smaps)
                {
                    sb.Append(Inv, $"\n-- /proc/{p.Pid}/smaps --\n");
                    foreach (SmapsVmaSnapshot v in smaps)
                        Smaps.AppendTo(sb, v);
                }
            }
            sb.Append("\n-- /proc/meminfo --\n");
            MemInfo.AppendTo(sb, s.MemInfo);
            sb.Append("\n-- /proc/buddyinfo --\n");
            sb.Append(s.BuddyInfo);
            if (s.PageTypeInfo is not null)
            {
                sb.Append("\n-- /proc/pagetypeinfo --\n");
                sb.Append(s.PageTypeInfo);
            }
            if (s.ZoneInfo is { } zone)
            {
                sb.Append("\n-- /proc/zoneinfo --\n");
                ZoneInfo.AppendTo(sb, zone);
            }
            if (s.VmStat.Count > 0)
            {
                sb.Append("\n-- /proc/vmstat --\n");
                VmStat.AppendTo(sb, s.VmStat);
            }
            if (s.Cgroups is { } cgroups)
                MemcgFiles.AppendText(sb, cgroups, "\n-- memory cgroups --\n");
            if (s.LruGen is { } lruGen)
                LruGenFiles.AppendText(sb, lruGen, "\n-- /sys/kernel/debug/lru_gen --\n");
        }
    }

    /// <summary>Writes the "snapshots" array.</summary>
    public static void WriteJson(Utf8JsonWriter w, IReadOnlyList<Snapshot> snapshots)
    {
        w.WriteStartArray("snapshots");
        foreach (Snapshot s in snapshots)
        {
            w.WriteStartObject();
            w.WriteString("when", s.When);
            w.WriteBoolean("reached", s.Reached);
            if (s.NotTakenBecause is { } why)
                w.WriteString("not_taken_because", why);
            w.WriteNumber("cycles", s.Cycles);
            w.WriteNumber("accesses", s.Accesses);
            if (s.Peak is { } peak)
            {
                w.WriteStartObject("peak");
                w.WriteNumber("free_pages", peak.FreePages);
                w.WriteNumber("alloc_count", peak.AllocCount);
                w.WriteBoolean("at_start", peak.AtStart);
                w.WriteEndObject();
            }
            w.WriteStartArray("processes");
            foreach (ProcessSnapshot p in s.Processes)
            {
                w.WriteStartObject();
                w.WriteNumber("pid", p.Pid);
                w.WriteString("name", p.Name);
                w.WriteString("state", p.State);
                w.WriteStartObject("mm_struct");
                foreach (var (field, _, value) in MmFields(p.Mm))
                {
                    if (value is ulong v)
                        w.WriteNumber(field, v);
                    else
                        w.WriteNull(field);
                }
                w.WriteEndObject();
                w.WriteStartArray("vmas");
                foreach (VmaSnapshot v in p.Vmas)
                {
                    w.WriteStartObject();
                    w.WriteString("maps", v.MapsLine);
                    w.WriteNumber("vm_start", v.Start);
                    w.WriteNumber("vm_end", v.End);
                    w.WriteNumber("vm_pgoff", v.PgOff);
                    w.WriteString("vm_ops", v.KindName);
                    w.WriteNumber("vm_flags", (ulong)v.Flags);
                    w.WriteStartArray("vm_flags_names");
                    foreach (string n in v.FlagNames.Split('|'))
                        if (n != "0")
                            w.WriteStringValue(n);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                if (p.SmapsRollup is { } rollup)
                {
                    w.WriteStartObject("smaps_rollup");
                    w.WriteString("header", rollup.Header);
                    foreach (NamedValue f in rollup.Fields)
                        w.WriteNumber(f.Name, f.Value);
                    w.WriteEndObject();
                }
                if (p.Smaps is { } smaps)
                    WriteSmaps(w, smaps);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            ReportJsonWriter.Counters(w, "meminfo", s.MemInfo);
            w.WriteStartArray("buddyinfo");
            foreach (long n in s.BuddyFree)
                w.WriteNumberValue(n);
            w.WriteEndArray();
            if (s.PageTypes is { } pt)
                ReportJsonWriter.PageTypes(w, pt);
            if (s.ZoneInfo is { } zone)
                WriteZoneInfo(w, zone);
            if (s.VmStat.Count > 0)
            {
                ReportJsonWriter.Counters(w, "vmstat", s.VmStat);
            }
            if (s.Cgroups is { } cgroups)
                MemcgFiles.WriteJson(w, cgroups);
            if (s.LruGen is { } lruGen)
                LruGenFiles.WriteJson(w, lruGen);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>The "smaps" array: per VMA its maps line, every field (kB), THPeligible (0 or 1) and the VmFlags mnemonics.</summary>
    private static void WriteSmaps(Utf8JsonWriter w, IReadOnlyList<SmapsVmaSnapshot> smaps)
    {
        w.WriteStartArray("smaps");
        foreach (SmapsVmaSnapshot v in smaps)
        {
            w.WriteStartObject();
            w.WriteString("header", v.Header);
            foreach (NamedValue f in v.Fields)
                w.WriteNumber(f.Name, f.Value);
            w.WriteNumber("THPeligible", v.ThpEligible ? 1 : 0);
            w.WriteStartArray("VmFlags");
            foreach (string m in v.VmFlags.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                w.WriteStringValue(m);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteZoneInfo(Utf8JsonWriter w, ZoneInfoSnapshot z)
    {
        w.WriteStartObject("zoneinfo");
        w.WriteNumber("node", z.Node);
        w.WriteString("zone", z.Zone);
        ReportJsonWriter.Counters(w, "per_node", z.PerNode);
        w.WriteNumber("pages_free", z.Free);
        w.WriteNumber("boost", z.Boost);
        w.WriteNumber("min", z.Min);
        w.WriteNumber("low", z.Low);
        w.WriteNumber("high", z.High);
        w.WriteNumber("spanned", z.Spanned);
        w.WriteNumber("present", z.Present);
        w.WriteNumber("managed", z.Managed);
        ReportJsonWriter.Counters(w, "stats", z.ZoneStats);
        if (z.Pagesets is { } sets)
        {
            w.WriteStartArray("pagesets");
            foreach (PagesetRow p in sets)
            {
                w.WriteStartObject();
                w.WriteNumber("cpu", p.Cpu);
                w.WriteNumber("count", p.Count);
                w.WriteNumber("high", p.High);
                w.WriteNumber("batch", p.Batch);
                if (p.Tuned)
                {
                    w.WriteNumber("high_min", p.HighMin);
                    w.WriteNumber("high_max", p.HighMax);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteNumber("node_unreclaimable", z.NodeUnreclaimable ? 1 : 0);
        w.WriteNumber("start_pfn", z.StartPfn);
        w.WriteEndObject();
    }
}
