using System.Globalization;
using System.Text;
using System.Text.Json;
using EcsMem.Systems.Reporting;

namespace EcsMem.Tests.Report;

/// <summary>
/// The /proc files of a snapshot: smaps_rollup (worked by hand for a fork, and its layout against the file this
/// machine printed), zoneinfo (layout against this machine's file, watermarks by hand) and vmstat at the moment.
/// </summary>
public class SnapshotProcFilesTests
{
    // Recorded from /proc/self/smaps_rollup (cat) on the development machine, Linux 6.18.
    private const string RealRollup = """
        555f7ff5d000-7ffc2ea1a000 ---p 00000000 00:00 0                          [rollup]
        Rss:                1660 kB
        Pss:                 246 kB
        Pss_Dirty:           112 kB
        Pss_Anon:            112 kB
        Pss_File:            134 kB
        Pss_Shmem:             0 kB
        Shared_Clean:       1508 kB
        Shared_Dirty:          0 kB
        Private_Clean:        40 kB
        Private_Dirty:       112 kB
        Referenced:         1660 kB
        Anonymous:           112 kB
        KSM:                   0 kB
        LazyFree:              0 kB
        AnonHugePages:         0 kB
        ShmemPmdMapped:        0 kB
        FilePmdMapped:         0 kB
        Shared_Hugetlb:        0 kB
        Private_Hugetlb:       0 kB
        Swap:                  0 kB
        SwapPss:               0 kB
        Locked:                0 kB

        """;

    // Recorded from /proc/zoneinfo on the same machine: the per-node stats (printed under the node's first populated
    // zone, DMA there) and the Normal zone.
    private const string RealPerNode = """
          per-node stats
              nr_inactive_anon 135007
              nr_active_anon 3615
              nr_inactive_file 698249
              nr_active_file 232035
              nr_unevictable 4541
              nr_slab_reclaimable 73588
              nr_slab_unreclaimable 11482
              nr_isolated_anon 0
              nr_isolated_file 0
              workingset_nodes 12876
              workingset_refault_anon 246487
              workingset_refault_file 1388315
              workingset_activate_anon 0
              workingset_activate_file 620909
              workingset_restore_anon 0
              workingset_restore_file 0
              workingset_nodereclaim 0
              nr_anon_pages 104735
              nr_mapped    68721
              nr_file_pages 968749
              nr_dirty     142
              nr_writeback 0
              nr_shmem     38439
              nr_shmem_hugepages 0
              nr_shmem_pmdmapped 0
              nr_file_hugepages 1
              nr_file_pmdmapped 0
              nr_anon_transparent_hugepages 0
              nr_vmscan_write 299138
              nr_vmscan_immediate_reclaim 9437
              nr_dirtied   5373285
              nr_written   5632028
              nr_throttled_written 0
              nr_kernel_misc_reclaimable 0
              nr_foll_pin_acquired 0
              nr_foll_pin_released 0
              nr_kernel_stack 3792
              nr_page_table_pages 1601
              nr_sec_page_table_pages 0
              nr_iommu_pages 0
              nr_swapcached 0
              pgpromote_success 0
              pgpromote_candidate 0
              pgpromote_candidate_nrl 0
              pgdemote_kswapd 0
              pgdemote_direct 0
              pgdemote_khugepaged 0
              pgdemote_proactive 0
              nr_hugetlb   0
              nr_balloon_pages 0
              nr_kernel_file_pages 0

        """;

    private const string RealNormal = """
        Node 0, zone   Normal
          pages free     43679
                boost    0
                min      10405
                low      13006
                high     15607
                promo    18208
                spanned  5505024
                present  5505024
                managed  1245184
                cma      0
                protection: (0, 0, 0, 0, 0)
              nr_free_pages 43679
              nr_free_pages_blocks 2560
              nr_zone_inactive_anon 135007
              nr_zone_active_anon 3615
              nr_zone_inactive_file 698249
              nr_zone_active_file 232035
              nr_zone_unevictable 4541
              nr_zone_write_pending 142
              nr_mlock     3865
              nr_zspages   0
              nr_free_cma  0
              numa_hit     125562764
              numa_miss    0
              numa_foreign 0
              numa_interleave 1082
              numa_local   125562764
              numa_other   0
          pagesets
            cpu: 0
                      count:    6460
                      high:     26037
                      batch:    63
                      high_min: 6503
                      high_max: 77824
          vm stats threshold: 28
            cpu: 1
                      count:    26862
                      high:     28316
                      batch:    63
                      high_min: 6503
                      high_max: 77824
          vm stats threshold: 28
          node_unreclaimable:  0
          start_pfn:           1048576

        """;

    // Recorded from /proc/buddyinfo with the zoneinfo above: DMA32's free blocks and its nr_free_pages_blocks.
    private static readonly long[] RealDma32Buddy = [0, 4, 2, 2, 1, 2, 0, 3, 3, 1, 753];
    private const long RealDma32FreePagesBlocks = 771584;

    // The exec layout of SnapshotTests (heap 16K at 0x405000); the parent stores to three heap pages and pre-forks
    // two children after those three accesses; with a quantum of one access the three then take turns. Child 1
    // loads its first page, then stores to it (copy-on-write: it gets its own copy); child 2 only loads.
    private const string ForkYaml = """
        machine:
          ram: 1M
          swap: 0
          quantum: 1
        processes:
          - name: demo
            layout:
              exec: {file: /bin/demo, text: 8K, data: 4K, bss: 8K, heap: 16K}
            workload:
              trace: {path: P, format: lackey}
            children:
              count: 2
              after: 3
              workloads:
                - trace: {path: C1, format: lackey}
                - trace: {path: C2, format: lackey}
        """;

    private static JsonElement ForkSnapshots(ReportTestFiles f, string when)
    {
        string p = f.Write("p.lackey", " S 00405000,8\n S 00406000,8\n S 00407000,8\n L 00405008,8\n L 00406008,8\n L 00407008,8\n");
        string c1 = f.Write("c1.lackey", " L 00405010,8\n S 00405010,8\n");
        string c2 = f.Write("c2.lackey", " L 00406010,8\n");
        string yaml = f.Write("fork.yaml", ForkYaml.Replace("P", p, StringComparison.Ordinal)
            .Replace("C1", c1, StringComparison.Ordinal).Replace("C2", c2, StringComparison.Ordinal));
        var (code, json, err) = ReportTestFiles.Run("run", yaml, "--snapshot", when, "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("snapshots")[0].Clone();
    }

    private static Dictionary<string, long> Rollup(JsonElement snapshot, int pid)
    {
        JsonElement p = snapshot.GetProperty("processes").EnumerateArray().Single(x => x.GetProperty("pid").GetInt32() == pid);
        return p.GetProperty("smaps_rollup").EnumerateObject().Where(o => o.Name != "header")
            .ToDictionary(o => o.Name, o => o.Value.GetInt64());
    }

    [Test]
    public void ForkSharesThreePagesThreeWaysAndPssIsLinuxsFixedPoint()
    {
        using var f = new ReportTestFiles();
        // After 4 accesses: the three stores, the fork, child 1's load. Every page is mapped by 3 processes.
        // Each page's PSS is (4096 << 12) / 3 = 5592405 (fixed point, rounded down); three of them 16777215;
        // >> 12 = 4095 bytes; >> 10 = 3 kB (not the 4 kB that 3 x 4096 / 3 bytes would give).
        JsonElement s = ForkSnapshots(f, "4a");
        Assert.That(s.GetProperty("processes").GetArrayLength(), Is.EqualTo(3));
        foreach (int pid in new[] { 1, 2, 3 })
        {
            var r = Rollup(s, pid);
            Assert.That(r["Rss"], Is.EqualTo(12), $"pid {pid}");
            Assert.That(r["Pss"], Is.EqualTo(3), $"pid {pid}");
            Assert.That(r["Pss_Anon"], Is.EqualTo(3));
            Assert.That(r["Pss_File"], Is.EqualTo(0));
            Assert.That(r["Anonymous"], Is.EqualTo(12));
            Assert.That(r["Shared_Clean"] + r["Shared_Dirty"], Is.EqualTo(12), "all three pages are shared");
            Assert.That(r["Private_Clean"] + r["Private_Dirty"], Is.EqualTo(0));
            Assert.That(r["Swap"], Is.EqualTo(0));
            Assert.That(r["Locked"], Is.EqualTo(0));
        }
        // The parent's stores dirtied its PTEs: its pages count as dirty; fork keeps the dirty bit in the child's
        // copies but makes them old, so child 2 (not run yet) has referenced nothing.
        Assert.That(Rollup(s, 1)["Shared_Dirty"], Is.EqualTo(12));
        Assert.That(Rollup(s, 1)["Pss_Dirty"], Is.EqualTo(3));
        Assert.That(Rollup(s, 1)["Referenced"], Is.EqualTo(12));
        Assert.That(Rollup(s, 3)["Referenced"], Is.EqualTo(0));
    }

    [Test]
    public void CopyOnWriteLeavesOnePageSharedTwoWays()
    {
        using var f = new ReportTestFiles();
        // After 7 accesses child 1 has stored to the first page: its own copy (private, 4096 << 12) and the two
        // pages still shared by three. The original first page is now mapped by the parent and child 2 (map count 2).
        //   parent, child 2: 8388608 + 2 x 5592405 = 19573418; >> 12 = 4778; >> 10 = 4 kB
        //   child 1:        16777216 + 2 x 5592405 = 27962026; >> 12 = 6826; >> 10 = 6 kB
        JsonElement s = ForkSnapshots(f, "7a");
        var parent = Rollup(s, 1);
        var child1 = Rollup(s, 2);
        var child2 = Rollup(s, 3);
        Assert.That(parent["Pss"], Is.EqualTo(4));
        Assert.That(child2["Pss"], Is.EqualTo(4));
        Assert.That(child1["Pss"], Is.EqualTo(6));
        Assert.That(child1["Private_Clean"] + child1["Private_Dirty"], Is.EqualTo(4), "its copy");
        Assert.That(child1["Private_Dirty"], Is.EqualTo(4), "written");
        Assert.That(child1["Shared_Clean"] + child1["Shared_Dirty"], Is.EqualTo(8));
        Assert.That(parent["Shared_Clean"] + parent["Shared_Dirty"], Is.EqualTo(12), "map count 2 or 3: all shared");
        foreach (var r in new[] { parent, child1, child2 })
            Assert.That(r["Rss"], Is.EqualTo(12));
        // The text form: the header spans the first VMA's start to the last one's end (the stack), as smaps_rollup does.
        Assert.That(s.GetProperty("processes")[0].GetProperty("smaps_rollup").GetProperty("header").GetString(),
            Is.EqualTo("00400000-7ffffffff000 ---p 00000000 00:00 0" + new string(' ', 30) + "[rollup]"));
    }

    [Test]
    public void ForkAfterSwapOutHalvesPssAndSwapPss()
    {
        // 300 stores to 300 heap pages of a 256-page machine: some are swapped out. A child forked after them shares
        // every page and every swap entry (fork copies a swap PTE and raises the slot's swap count to 2; a page both
        // map that is swapped out later gets one entry with count 2). So, for each, every resident page adds
        // (4096 << 12) / 2 and every swap entry the same to SwapPss: Pss = Rss / 2 and SwapPss = Swap / 2 exactly
        // (n pages: n x 2048 bytes = 2n kB), and all of Rss is shared.
        using var f = new ReportTestFiles();
        var trace = new StringBuilder();
        for (int i = 0; i < 300; i++)
            trace.Append(CultureInfo.InvariantCulture, $" S {0x405000 + i * 4096:x8},8\n");
        for (int i = 0; i < 5; i++)
            trace.Append(CultureInfo.InvariantCulture, $" L {0x405000 + 299 * 4096:x8},8\n");
        string t = f.Write("sw.lackey", trace.ToString());
        string yaml = f.Write("sw.yaml", """
            machine: {ram: 1M, swap: 4M}
            processes:
              - name: big
                layout: {exec: {file: /bin/demo, text: 8K, data: 4K, bss: 8K, heap: 2M}}
                workload: {trace: {path: TRACE, format: lackey}}
                children: {count: 1, after: 300}
            """.Replace("TRACE", t, StringComparison.Ordinal));
        var (code, json, err) = ReportTestFiles.Run("run", yaml, "--snapshot", "302a", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(json);
        JsonElement s = doc.RootElement.GetProperty("snapshots")[0];
        Assert.That(s.GetProperty("processes").GetArrayLength(), Is.EqualTo(2), "parent and child");
        foreach (JsonElement p in s.GetProperty("processes").EnumerateArray())
        {
            JsonElement mm = p.GetProperty("mm_struct");
            long rss = mm.GetProperty("rss_anon").GetInt64() * 4, swap = mm.GetProperty("swap_ents").GetInt64() * 4;
            Assert.That(swap, Is.GreaterThan(0), "some pages were swapped out");
            var r = Rollup(s, p.GetProperty("pid").GetInt32());
            Assert.That(r["Rss"], Is.EqualTo(rss));
            Assert.That(r["Swap"], Is.EqualTo(swap));
            Assert.That(r["Pss"] * 2, Is.EqualTo(rss));
            Assert.That(r["SwapPss"] * 2, Is.EqualTo(swap));
            Assert.That(r["Shared_Clean"] + r["Shared_Dirty"], Is.EqualTo(rss));
            Assert.That(r["Private_Clean"] + r["Private_Dirty"], Is.EqualTo(0));
        }
    }

    [Test]
    public void FixedPointSumsAsLinuxDoes()
    {
        // smaps_account by hand for single pages: a page mapped by 3 adds (4096 << 12) / 3, one mapped once 4096 << 12.
        var s = new SmapsRollup.MemSizeStats();
        var shared3 = EcsMem.Components.Frame.Fresh(5) with { MapCount = 3, Flags = EcsMem.Components.FrameFlags.Anon | EcsMem.Components.FrameFlags.SwapBacked };
        var own = EcsMem.Components.Frame.Fresh(6) with { MapCount = 1, Flags = EcsMem.Components.FrameFlags.Anon | EcsMem.Components.FrameFlags.SwapBacked };
        for (int i = 0; i < 3; i++)
            SmapsRollup.Account(ref s, shared3, young: false, dirty: false, locked: false);
        Assert.That(s.Pss, Is.EqualTo(3UL * (16777216UL / 3)));
        Assert.That(s.SharedClean, Is.EqualTo(3UL * 4096));
        SmapsRollup.Account(ref s, own, young: true, dirty: true, locked: true);
        Assert.That(s.PrivateDirty, Is.EqualTo(4096UL));
        Assert.That(s.PssLocked, Is.EqualTo(16777216UL));
        Assert.That(s.Referenced, Is.EqualTo(4096UL));
        var fields = SmapsRollup.Fields(s).ToDictionary(v => v.Name, v => v.Value);
        Assert.That(fields["Pss"], Is.EqualTo((3 * 5592405L + 16777216L) >> 22)); // 7 kB
        Assert.That(fields["Rss"], Is.EqualTo(16));
    }

    [Test]
    public void RollupLayoutIsTheFileThisKernelPrinted()
    {
        // The recorded values through our printer give back the recorded file, byte for byte.
        string[] lines = RealRollup.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string range = lines[0][..lines[0].IndexOf(' ', StringComparison.Ordinal)];
        string[] ends = range.Split('-');
        var fields = lines.Skip(1).Select(l =>
        {
            int colon = l.IndexOf(':', StringComparison.Ordinal);
            return new NamedValue(l[..colon], long.Parse(l[(colon + 1)..^3].Trim(), CultureInfo.InvariantCulture));
        }).ToList();
        Assert.That(fields.Select(v => v.Name), Is.EqualTo(SmapsRollup.Fields(default).Select(v => v.Name)), "the fields and their order");
        var r = new SmapsRollupSnapshot(SmapsRollup.HeaderLine(ulong.Parse(ends[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            ulong.Parse(ends[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), 8), fields);
        var sb = new StringBuilder();
        SmapsRollup.AppendTo(sb, r);
        Assert.That(sb.ToString(), Is.EqualTo(RealRollup));
    }

    [Test]
    public void ZoneinfoLayoutIsTheFileThisKernelPrintedLessTheLinesEcsMemDoesNotModel()
    {
        static long Value(string block, string key)
        {
            foreach (string l in block.Split('\n'))
            {
                string t = l.Trim();
                if (t.StartsWith(key + " ", StringComparison.Ordinal))
                    return long.Parse(t[key.Length..].Trim(), CultureInfo.InvariantCulture);
            }
            throw new AssertionException("no " + key);
        }
        string[] perNode = ["nr_inactive_anon", "nr_active_anon", "nr_inactive_file", "nr_active_file", "nr_anon_pages",
            "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback", "nr_page_table_pages", "nr_swapcached"];
        string[] zone = ["nr_free_pages", "nr_free_pages_blocks", "nr_zone_inactive_anon", "nr_zone_active_anon",
            "nr_zone_inactive_file", "nr_zone_active_file"];
        var pagesets = new List<PagesetRow>();
        string[] normal = RealNormal.Split('\n');
        for (int i = 0; i < normal.Length; i++)
            if (normal[i].StartsWith("    cpu: ", StringComparison.Ordinal))
                pagesets.Add(new PagesetRow(int.Parse(normal[i][9..], CultureInfo.InvariantCulture),
                    (int)Value(normal[i + 1], "count:"), (int)Value(normal[i + 2], "high:"), (int)Value(normal[i + 3], "batch:")));
        var z = new ZoneInfoSnapshot(0, "Normal", perNode.Select(n => new NamedValue(n, Value(RealPerNode, n))).ToList(),
            Value(RealNormal, "pages free"), Value(RealNormal, "min"), Value(RealNormal, "low"), Value(RealNormal, "high"),
            Value(RealNormal, "spanned"), Value(RealNormal, "present"), Value(RealNormal, "managed"),
            zone.Select(n => new NamedValue(n, Value(RealNormal, n))).ToList(), pagesets, Value(RealNormal, "start_pfn:"),
            Value(RealNormal, "node_unreclaimable:") != 0, Value(RealNormal, "boost"));
        var sb = new StringBuilder();
        ZoneInfo.AppendTo(sb, z);

        // The expected text: the real zone header, the real per-node block, the real zone block, keeping the lines
        // whose key EcsMem prints (byte for byte as the kernel printed them).
        string[] dropped = ["promo", "cma", "protection:", "high_min:", "high_max:", "vm stats threshold:"];
        bool Keep(string line)
        {
            string t = line.Trim();
            if (t.Length == 0 || dropped.Any(d => t.StartsWith(d, StringComparison.Ordinal)))
                return false;
            if (t.StartsWith("nr_", StringComparison.Ordinal) || t.StartsWith("numa_", StringComparison.Ordinal) || t.StartsWith("pg", StringComparison.Ordinal)
                || t.StartsWith("workingset_", StringComparison.Ordinal))
            {
                string key = t[..t.IndexOf(' ', StringComparison.Ordinal)];
                return perNode.Contains(key) || zone.Contains(key);
            }
            return true;
        }
        var expected = new List<string> { normal[0] };
        expected.AddRange(RealPerNode.Split('\n').Where(Keep));
        expected.AddRange(normal.Skip(1).Where(Keep));
        Assert.That(sb.ToString(), Is.EqualTo(string.Join('\n', expected) + "\n"));
    }

    [Test]
    public void FreePagesBlocksCountsFreeBlocksOfAtLeastAPageblock()
    {
        // Recorded together on this machine: DMA32's buddyinfo and its nr_free_pages_blocks (pageblock order 9).
        Assert.That(ZoneInfo.FreePagesBlocks(RealDma32Buddy, 9), Is.EqualTo(RealDma32FreePagesBlocks));
    }

    [Test]
    public void ZoneinfoWatermarksAndSizesOfASmallMachineByHand()
    {
        using var f = new ReportTestFiles();
        JsonElement s = ForkSnapshots(f, "3a");
        JsonElement z = s.GetProperty("zoneinfo");
        // 1 MiB = 256 pages. min_free_kbytes = int_sqrt(1024 x 16) = 128, the floor: min = 128 / 4 = 32 pages;
        // delta = max(32 / 4, 256 x 10 / 10000) = 8: low 40, high 48.
        Assert.That(z.GetProperty("min").GetInt64(), Is.EqualTo(32));
        Assert.That(z.GetProperty("low").GetInt64(), Is.EqualTo(40));
        Assert.That(z.GetProperty("high").GetInt64(), Is.EqualTo(48));
        Assert.That(z.GetProperty("spanned").GetInt64(), Is.EqualTo(256));
        Assert.That(z.GetProperty("present").GetInt64(), Is.EqualTo(256));
        Assert.That(z.GetProperty("managed").GetInt64(), Is.EqualTo(256));
        Assert.That(z.GetProperty("start_pfn").GetInt64(), Is.EqualTo(0));
        // Free = MemFree / 4 = nr_free_pages of vmstat and of the zone's own stats.
        long free = s.GetProperty("meminfo").GetProperty("MemFree").GetInt64() / 4;
        Assert.That(z.GetProperty("pages_free").GetInt64(), Is.EqualTo(free));
        Assert.That(z.GetProperty("stats").GetProperty("nr_free_pages").GetInt64(), Is.EqualTo(free));
        Assert.That(s.GetProperty("vmstat").GetProperty("nr_free_pages").GetInt64(), Is.EqualTo(free));
        // Three anonymous pages after three stores: mapped (nr_anon_pages), but still in the CPU's lru_add batch (3 of
        // FOLIO_BATCH_SIZE 31 adds, no drain), so on no list yet: update_lru_size counts them only when the batch moves.
        Assert.That(z.GetProperty("per_node").GetProperty("nr_anon_pages").GetInt64(), Is.EqualTo(3));
        long anonLru = z.GetProperty("stats").GetProperty("nr_zone_inactive_anon").GetInt64() + z.GetProperty("stats").GetProperty("nr_zone_active_anon").GetInt64();
        Assert.That(anonLru, Is.EqualTo(0));
    }

    [Test]
    public void VmstatAtTheEndIsTheReportsVmstat()
    {
        // The same moment seen two ways: the end snapshot's /proc/vmstat and the report's own section.
        var (code, text, err) = ReportTestFiles.Run("run", "--snapshot", "end");
        Assert.That(code, Is.EqualTo(0), err);
        static string Between(string t, string from, string to)
        {
            int a = t.IndexOf(from, StringComparison.Ordinal) + from.Length;
            return t[a..t.IndexOf(to, a, StringComparison.Ordinal)];
        }
        string report = Between(text, "== /proc/vmstat ==\n", "\n== ");
        int end = text.IndexOf("== snapshot at end", StringComparison.Ordinal);
        string snapshot = text[(text.IndexOf("-- /proc/vmstat --\n", end, StringComparison.Ordinal) + "-- /proc/vmstat --\n".Length)..];
        Assert.That(snapshot.TrimEnd('\n'), Is.EqualTo(report.TrimEnd('\n')));
        Assert.That(report, Does.Contain("pgfault "));
    }
}
