using System.Globalization;
using System.Text;
using System.Text.Json;
using EcsMem.Components;
using EcsMem.Systems.Memcontrol;
using EcsMem.Systems.Vmscan;

namespace EcsMem.Systems.Reporting;

/// <summary>One cgroup's memory controller files at the end of the run (cgroup v2 names; values in bytes as Linux prints them).</summary>
/// <param name="Path">The cgroup's path ("/box", "/box/a").</param>
/// <param name="Current">memory.current.</param>
/// <param name="SwapCurrent">memory.swap.current.</param>
/// <param name="Limits">memory.min, memory.low, memory.high, memory.max, memory.swap.max (-1: max).</param>
/// <param name="Events">memory.events in Linux's order: low, high, max, oom, oom_kill, oom_group_kill.</param>
/// <param name="Stat">memory.stat in Linux's order (the entries EcsMem models).</param>
/// <param name="Peak">memory.peak (v2; v1's memory.max_usage_in_bytes): the memory page_counter's watermark, the highest memory.current of the run.</param>
public sealed record MemcgFile(string Path, long Current, long SwapCurrent, IReadOnlyList<NamedValue> Limits, IReadOnlyList<NamedValue> Events, IReadOnlyList<NamedValue> Stat, long Peak);

/// <summary>
/// memory_stat_format and the memory.* files (mm/memcontrol.c) of every non-root cgroup. The page-state entries are
/// counted by definition from the frames charged to the group's subtree (anon = NR_ANON_MAPPED: mapped anonymous
/// pages; file = NR_FILE_PAGES: page cache, shmem and swap cache; kernel = MEMCG_KMEM, the kernel memory EcsMem
/// charges: page tables, slab objects, percpu chunks and kernel stacks, which is also what cgroup v1's
/// memory.kmem.usage_in_bytes shows; slab_* = the charged objects' bytes, kernel_stack and percpu likewise, from the
/// group's counters); the events are the subtree's sums. Entries for mechanisms EcsMem does not have (zswap, THP, sock,
/// vmalloc, pgdemote; the workingset counters with a simple policy) are printed as 0, as a kernel without them
/// would. With the Linux lruvec the LRU sizes are its lists and the workingset and scan/steal events its own counts.
/// </summary>
public static class MemcgFiles
{
    private static readonly string[] EventNames = ["low", "high", "max", "oom", "oom_kill", "oom_group_kill"];

    /// <summary>The files of every cgroup but the root (which has none of them in cgroup v2).</summary>
    public static IReadOnlyList<MemcgFile> Read(Kernel.Kernel k)
    {
        MemcgController mc = k.Memcg!;
        int n = mc.Groups.Count;
        // Page state per group (own pages), then summed up the hierarchy.
        var anon = new long[n];
        var file = new long[n];
        var shmem = new long[n];
        var mapped = new long[n];
        var dirty = new long[n];
        var writeback = new long[n];
        var swapcached = new long[n];
        Frame[] frames = k.Zone.Frames;
        for (int pfn = 0; pfn < frames.Length; pfn++)
        {
            MemCgroup? g = mc.OfFrame(pfn);
            if (g is null)
                continue;
            ref Frame f = ref frames[pfn];
            if ((f.Flags & FrameFlags.Slab) != 0)
                continue;
            bool isShmem = (f.Flags & FrameFlags.Shmem) != 0;
            bool swapCache = (f.Flags & FrameFlags.SwapCache) != 0;
            if (f.IsAnon && !isShmem && f.MapCount > 0)
                anon[g.Id]++;
            if (!f.IsAnon || isShmem || swapCache)
                file[g.Id]++;
            if (isShmem)
                shmem[g.Id]++;
            if ((!f.IsAnon || isShmem) && f.MapCount > 0)
                mapped[g.Id]++;
            // NR_FILE_DIRTY: page-cache pages that can be written back (shmem's never are: mapping_can_writeback is false).
            if (!f.IsAnon && !isShmem && (f.Flags & FrameFlags.Dirty) != 0)
                dirty[g.Id]++;
            // NR_WRITEBACK: every page under writeback, file or swap.
            if ((f.Flags & FrameFlags.Writeback) != 0)
                writeback[g.Id]++;
            if (swapCache)
                swapcached[g.Id]++;
        }
        var files = new List<MemcgFile>();
        long page = (long)Pte.PageSize;
        foreach (MemCgroup g in mc.Groups)
        {
            if (g.IsRoot)
                continue;
            long Sum(long[] a) => g.Subtree().Sum(x => a[x.Id]);
            long SumOf(Func<MemCgroup, long> f) => g.Subtree().Sum(f);
            // With the Linux lruvec the scan and steal events are counted on each group's lruvec; else on the group.
            long pgscanK = SumOf(x => x.PgScanKswapd + (x.Lruvec is Lruvec l ? l.PgScanKswapd : 0));
            long pgscanD = SumOf(x => x.PgScanDirect + (x.Lruvec is Lruvec l ? l.PgScanDirect : 0));
            long pgstealK = SumOf(x => x.PgStealKswapd + (x.Lruvec is Lruvec l ? l.PgStealKswapd : 0));
            long pgstealD = SumOf(x => x.PgStealDirect + (x.Lruvec is Lruvec l ? l.PgStealDirect : 0));
            long Ws(Func<Lruvec, long> f) => SumOf(x => x.Lruvec is Lruvec l ? f(l) : 0);
            long faults = SumOf(x => x.PgFault), major = SumOf(x => x.PgMajFault);
            var stat = new List<NamedValue>
            {
                new("anon", Sum(anon) * page),
                new("file", Sum(file) * page),
                new("kernel", g.Kmem * page),
                new("kernel_stack", g.KernelStack),
                new("pagetables", g.PageTables * page),
                new("sec_pagetables", 0),
                new("percpu", g.Percpu),
                new("sock", 0),
                new("vmalloc", 0),
                new("shmem", Sum(shmem) * page),
                new("zswap", 0),
                new("zswapped", 0),
                new("file_mapped", Sum(mapped) * page),
                new("file_dirty", Sum(dirty) * page),
                new("file_writeback", Sum(writeback) * page),
                new("swapcached", Sum(swapcached) * page),
                new("anon_thp", 0),
                new("file_thp", 0),
                new("shmem_thp", 0),
                new("inactive_anon", 0),
                new("active_anon", 0),
                new("inactive_file", 0),
                new("active_file", 0),
                new("unevictable", 0),
                new("slab_reclaimable", g.SlabReclaimable),
                new("slab_unreclaimable", g.SlabUnreclaimable),
                new("slab", g.SlabReclaimable + g.SlabUnreclaimable),
                new("workingset_refault_anon", Ws(l => l.WorkingsetRefaults[0])),
                new("workingset_refault_file", Ws(l => l.WorkingsetRefaults[1])),
                new("workingset_activate_anon", Ws(l => l.WorkingsetActivationsLocal[0])),
                new("workingset_activate_file", Ws(l => l.WorkingsetActivationsLocal[1])),
                new("workingset_restore_anon", Ws(l => l.WorkingsetRestores[0])),
                new("workingset_restore_file", Ws(l => l.WorkingsetRestores[1])),
                new("workingset_nodereclaim", SumOf(x => x.WorkingsetNodeReclaim)),
                new("pgscan", pgscanK + pgscanD),
                new("pgsteal", pgstealK + pgstealD),
                new("pgscan_kswapd", pgscanK),
                new("pgscan_direct", pgscanD),
                new("pgscan_khugepaged", 0),
                new("pgsteal_kswapd", pgstealK),
                new("pgsteal_direct", pgstealD),
                new("pgsteal_khugepaged", 0),
                new("pgfault", faults),
                new("pgmajfault", major),
            };
            // cgroup v1's memory.stat also prints pgpgin and pgpgout (memcg1_stat_format: memcg1_events, the group's own
            // charge and uncharge events, one a folio); cgroup v2's has no such entries.
            if (k.Options.CgroupVersion == 1)
            {
                stat.Add(new("pgpgin", g.PgPgIn));
                stat.Add(new("pgpgout", g.PgPgOut));
            }
            // The LRU sizes: the policy's own lists are one set per lruvec; split them into anon and file by the pages.
            SplitLru(stat, frames, mc, g);
            var limits = new List<NamedValue>
            {
                new("memory.min", g.Min * page),
                new("memory.low", g.Low * page),
                new("memory.high", g.High == long.MaxValue ? -1 : g.High * page),
                new("memory.max", g.Max == long.MaxValue ? -1 : g.Max * page),
                new("memory.swap.max", g.SwapMax == long.MaxValue ? -1 : g.SwapMax * page),
            };
            var events = new List<NamedValue>();
            for (int i = 0; i < EventNames.Length; i++)
                events.Add(new NamedValue(EventNames[i], i < g.Events.Length ? g.Events[i] : 0));
            files.Add(new MemcgFile(g.Path, g.Usage * page, g.SwapUsage * page, limits, events, stat, g.Watermark * page));
        }
        return files;
    }

    /// <summary>
    /// inactive_anon, active_anon, inactive_file, active_file, unevictable of the subtree's lruvecs: with the Linux
    /// lruvec its lists (pages still in an lru_add batch are on none yet, as in Linux); with a simple policy from the
    /// frames, PG_active as the policy left them (the policies that keep no active list report all inactive).
    /// </summary>
    private static void SplitLru(List<NamedValue> stat, Frame[] frames, MemcgController mc, MemCgroup g)
    {
        long ia = 0, aa = 0, ifl = 0, af = 0, unev = 0;
        if (g.Lruvec is Lruvec)
        {
            foreach (MemCgroup x in g.Subtree())
            {
                var lv = (Lruvec)x.Lruvec;
                ia += lv.Size(LruList.InactiveAnon);
                aa += lv.Size(LruList.ActiveAnon);
                ifl += lv.Size(LruList.InactiveFile);
                af += lv.Size(LruList.ActiveFile);
                unev += lv.Size(LruList.Unevictable);
            }
        }
        else
        {
            for (int pfn = 0; pfn < frames.Length; pfn++)
            {
                ref Frame f = ref frames[pfn];
                if ((f.Flags & FrameFlags.Lru) == 0 || mc.OfFrame(pfn) is not { } owner || !g.Contains(owner))
                    continue;
                bool anonList = (f.Flags & FrameFlags.SwapBacked) != 0;
                bool active = (f.Flags & FrameFlags.Active) != 0;
                if (anonList) { if (active) aa++; else ia++; }
                else { if (active) af++; else ifl++; }
            }
        }
        long page = (long)Pte.PageSize;
        Set(stat, "inactive_anon", ia * page);
        Set(stat, "active_anon", aa * page);
        Set(stat, "inactive_file", ifl * page);
        Set(stat, "active_file", af * page);
        Set(stat, "unevictable", unev * page);
    }

    private static void Set(List<NamedValue> stat, string name, long value)
    {
        int i = stat.FindIndex(v => v.Name == name);
        stat[i] = new NamedValue(name, value);
    }

    /// <summary>The text report's section (or a snapshot's, under <paramref name="title"/>): per cgroup its files as `cat` shows them.</summary>
    public static void AppendText(StringBuilder sb, IReadOnlyList<MemcgFile> files, string title = "\n== memory cgroups ==\n")
    {
        sb.Append(title);
        foreach (MemcgFile f in files)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{f.Path}\n");
            sb.Append(CultureInfo.InvariantCulture, $"  memory.current        {f.Current}\n");
            sb.Append(CultureInfo.InvariantCulture, $"  memory.peak           {f.Peak}\n");
            sb.Append(CultureInfo.InvariantCulture, $"  memory.swap.current   {f.SwapCurrent}\n");
            foreach (NamedValue v in f.Limits)
                sb.Append(CultureInfo.InvariantCulture, $"  {v.Name,-21} {(v.Value < 0 ? "max" : v.Value.ToString(CultureInfo.InvariantCulture))}\n");
            sb.Append("  memory.events:\n");
            foreach (NamedValue v in f.Events)
                sb.Append(CultureInfo.InvariantCulture, $"    {v.Name} {v.Value}\n");
            sb.Append("  memory.stat:\n");
            foreach (NamedValue v in f.Stat)
                sb.Append(CultureInfo.InvariantCulture, $"    {v.Name} {v.Value}\n");
        }
    }

    /// <summary>The JSON report's <c>cgroups</c> array: one object per cgroup ("max" limits as null).</summary>
    public static void WriteJson(Utf8JsonWriter w, IReadOnlyList<MemcgFile> files)
    {
        w.WriteStartArray("cgroups");
        foreach (MemcgFile f in files)
        {
            w.WriteStartObject();
            w.WriteString("path", f.Path);
            w.WriteNumber("memory.current", f.Current);
            w.WriteNumber("memory.peak", f.Peak);
            w.WriteNumber("memory.swap.current", f.SwapCurrent);
            foreach (NamedValue v in f.Limits)
            {
                if (v.Value < 0) w.WriteNull(v.Name);
                else w.WriteNumber(v.Name, v.Value);
            }
            ReportJsonWriter.Counters(w, "memory.events", f.Events);
            ReportJsonWriter.Counters(w, "memory.stat", f.Stat);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
