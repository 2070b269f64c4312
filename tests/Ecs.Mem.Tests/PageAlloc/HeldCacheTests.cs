using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Scenarios;
using EcsMem.Systems.Reporting;
using EcsMem.Systems.Vmscan;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.PageAlloc;

/// <summary>
/// machine.free_area_cache: some of an aged machine's held pages are clean, unmapped page cache of a file no process
/// has open, on the file LRU lists, which reclaim takes as any clean file page; the free lists are as free_area gives.
/// </summary>
public class HeldCacheTests
{
    // 8 MiB, 2,048 pages: the free blocks hold 40 + 2*30 + 4*20 + 8*10 + 16*6 + 32*3 + 1024 = 1,476 pages, so
    // 572 are held, the first of them the zero page: 571 for the held pages and the cache. No watermark boost, so
    // the min watermark stays min_free_kbytes' (sqrt(8192 * 16) = 362 KiB: 90 pages).
    private const string Aged = "ram: 8M, swap: 0, seed: 3, watermark_boost_factor: 0, free_area: [40, 30, 20, 10, 6, 3, 0, 0, 0, 0, 1]";

    private static string Scenario(string machine, int touch) =>
        "machine: {" + machine + "}\nprocesses:\n  - name: p\n    layout:\n      exec: {file: /usr/bin/p, text: 64K, heap: 8M}\n"
        + $"    workload: {{generator: \"seq:count={touch},pages={touch},writes=1.0\"}}\n";

    private static SimMachine Build(string machine, int touch = 1) =>
        EcsMem.Systems.Machine.ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Scenario(machine, touch)), "aged.yaml"));

    [Test]
    public void AtTheStartTheCacheIsOnTheFileListsInIndexOrderAndTheFreeListsAreTheLineGiven()
    {
        using SimMachine m = Build(Aged + ", free_area_cache: {inactive_file: 300, active_file: 100}");
        using SimMachine plain = Build(Aged);
        var k = m.Kernel;
        int file = k.HeldCacheFile;
        Assert.That(file, Is.GreaterThanOrEqualTo(0));
        Assert.That(k.Files[file].Path, Is.EqualTo(EcsMem.Systems.Filemap.HeldCache.Path));
        // The same seed places the same free blocks with or without the cache: the free lists are the line's.
        Assert.That(k.Zone.Buddy.NrFree.ToArray(), Is.EqualTo(plain.Kernel.Zone.Buddy.NrFree.ToArray()));
        Assert.That(k.Zone.Buddy.NrFreePages + k.Zone.PcpPages, Is.EqualTo(plain.Kernel.Zone.Buddy.NrFreePages + plain.Kernel.Zone.PcpPages));
        // 571 held pages: 400 are the cache, 171 stay reserved and pinned.
        Assert.That(k.Zone.HeldCache, Has.Length.EqualTo(400));
        Assert.That(k.Zone.HeldPages, Is.EqualTo(171));
        Assert.That(plain.Kernel.Zone.HeldPages, Is.EqualTo(571));
        Assert.That(k.Zone.Frames.Count(f => (f.Flags & FrameFlags.Reserved) != 0), Is.EqualTo(171));
        // Page i of the file is the i-th drawn held page: clean, unmapped, unpinned, pages 0..99 active, 100..399 inactive.
        for (int i = 0; i < 400; i++)
        {
            int pfn = k.Zone.HeldCache[i];
            Frame f = k.Zone.Frames[pfn];
            Assert.That(plain.Kernel.Zone.Frames[pfn].Flags, Is.EqualTo(FrameFlags.Reserved), $"page {i} must be one of the held pages");
            Assert.That((f.Mapping, f.Index, f.MapCount, k.Zone.Pins[pfn]), Is.EqualTo((file, (long)i, 0, 0)));
            Assert.That(k.PageCache.Find(file, i), Is.EqualTo(pfn));
            Assert.That(f.Flags & (FrameFlags.Dirty | FrameFlags.Reserved | FrameFlags.Anon), Is.EqualTo(FrameFlags.None));
            Assert.That(k.Lruvec!.ListOf(pfn), Is.EqualTo((int)(i < 100 ? LruList.ActiveFile : LruList.InactiveFile)), $"page {i}");
        }
        // The counters: Inactive(file) 300 pages, Active(file) 100, Cached 400 pages = 1,600 kB, nr_file_pages 400.
        MemoryGauges g = MemoryGauges.Read(k);
        Assert.That((g.InactiveFile, g.ActiveFile, g.PageCachePages, g.FilePages), Is.EqualTo((300L, 100L, 400L, 400L)));
        var sb = new System.Text.StringBuilder();
        MemInfo.AppendTo(sb, MemInfo.Build(g));
        Assert.That(sb.ToString(), Does.Contain("\nCached:             1600 kB\n"));
        Assert.That(new EcsMem.Systems.Machine.InvariantChecker(k).Check(), Is.Empty);
    }

    [Test]
    public void TheSeedChoosesTheCachePagesAndTheSameSeedTheSame()
    {
        using SimMachine a = Build(Aged + ", free_area_cache: {inactive_file: 50}");
        using SimMachine b = Build(Aged + ", free_area_cache: {inactive_file: 50}");
        using SimMachine c = Build(Aged.Replace("seed: 3", "seed: 4", StringComparison.Ordinal) + ", free_area_cache: {inactive_file: 50}");
        Assert.That(b.Kernel.Zone.HeldCache, Is.EqualTo(a.Kernel.Zone.HeldCache));
        Assert.That(c.Kernel.Zone.HeldCache, Is.Not.EqualTo(a.Kernel.Zone.HeldCache));
        // Drawn at random, not in pfn order.
        Assert.That(a.Kernel.Zone.HeldCache, Is.Not.Ordered);
    }

    [Test]
    public void ReclaimTakesTheInactiveCacheFromItsTailAndLeavesShadowsWhereWithoutItTheProgramIsKilled()
    {
        // The program touches 1,500 anonymous pages; 1,476 are free, the min watermark is 90 pages and there is no
        // swap, so at least 1,500 - (1,476 - 90) = 114 pages can only come from the held cache (more with the page
        // tables and kswapd's reclaim up to the high watermark).
        string cache = Aged + ", free_area_cache: {inactive_file: 300, active_file: 100}";
        using SimMachine m = Build(cache, touch: 1500);
        var k = m.Kernel;
        Assert.That(k.Zone.Watermarks.Min, Is.EqualTo(90));
        int file = k.HeldCacheFile;
        int[] pfns = [.. k.Zone.HeldCache];
        m.RunIncrementallyChecked(fullEvery: 50);
        Assert.That(m.Finished, Is.True);
        var c = m.Env.Counters;
        Assert.That(c.Get("oom_kill"), Is.Zero);
        Assert.That(c.Get("pgsteal_anon"), Is.Zero);
        long stolen = c.Get("pgsteal_file");
        Assert.That(stolen, Is.InRange(114, 300), "the inactive cache is enough: at least the program's shortfall, at most the inactive list");
        Assert.That(c.Get("pgsteal_kswapd") + c.Get("pgsteal_direct"), Is.EqualTo(stolen));
        // The evicted pages are the inactive list's oldest: file pages 100 .. 100 + stolen - 1, each leaving a shadow entry.
        var gone = Enumerable.Range(0, 400).Where(i => k.PageCache.Find(file, i) < 0).ToArray();
        Assert.That(gone, Is.EqualTo(Enumerable.Range(100, (int)stolen).ToArray()));
        Assert.That(k.PageCache.Shadows, Is.EqualTo(stolen));

        using SimMachine without = Build(Aged, touch: 1500);
        without.Run();
        Assert.That(without.Env.Counters.Get("oom_kill"), Is.EqualTo(1), "the held pages alone cannot be reclaimed");
    }

    [Test]
    public void OnTheAgedCacheSampleReclaimOfTheCacheMakesRoomForTheHeapAndWithoutItTheProgramIsKilled()
    {
        // samples/scenarios/aged-cache.yaml: 64 MiB; the free blocks hold 5,508 pages, 10,875 are held (the zero page
        // apart), 5,480 of them cache; the 32 MiB heap wants 8,192 pages.
        string path = Path.Combine(EcsMem.Tests.Scenarios.ScenarioTestFiles.RepoRoot(), "samples", "scenarios", "aged-cache.yaml");
        string yaml = File.ReadAllText(path);
        using var aged = EcsMem.Systems.Machine.ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), path));
        Assert.That(aged.Kernel.Zone.HeldPages + aged.Kernel.Zone.HeldCache.Length, Is.EqualTo(16384 - 5508 - 1));
        Assert.That(aged.Kernel.Zone.HeldCache, Has.Length.EqualTo(1989 + 3491));
        aged.RunIncrementallyChecked(fullEvery: 500);
        var a = aged.Env.Counters;
        Assert.That(aged.Finished, Is.True);
        Assert.That(a.Get("oom_kill"), Is.Zero);
        Assert.That(a.Get("pgsteal_anon"), Is.Zero);
        // 8,192 heap pages less the 5,508 free: at least 2,684 pages of cache reclaimed.
        Assert.That(a.Get("pgsteal_file"), Is.GreaterThanOrEqualTo(8192 - 5508));
        // The free blocks' five 2 MiB pages, less the one the build's page tables took, at least.
        Assert.That(a.Get("thp_fault_alloc"), Is.GreaterThanOrEqualTo(4));
        Assert.That(a.Get("compact_stall"), Is.GreaterThanOrEqualTo(1));

        using var without = EcsMem.Systems.Machine.ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(
            yaml.Replace("  free_area_cache: {inactive_file: 1989, active_file: 3491}\n", "", StringComparison.Ordinal)), "nocache.yaml"));
        Assert.That(without.Kernel.HeldCacheFile, Is.EqualTo(-1));
        without.Run();
        Assert.That(without.Env.Counters.Get("oom_kill"), Is.EqualTo(1));
    }

    [TestCase("free_area_cache: {inactive_file: 400, active_file: 172}",
        "aged.yaml:1: machine.free_area_cache asks for 572 pages of page cache; machine.free_area leaves 571 pages held (the RAM's 2048 less 1476 free and the zero page) (got '(a mapping)')")]
    [TestCase("free_area_cache: {inactive_file: -1}", "aged.yaml:1: machine.free_area_cache.inactive_file must not be negative (got '-1')")]
    [TestCase("free_area_cache: {inactive: 5}", "")]
    public void BadCacheCountsEndInOneLineNamingTheFileLineAndValue(string key, string message)
    {
        var e = Assert.Throws<InputException>(() => Build(Aged + ", " + key));
        if (message.Length > 0)
            Assert.That(e!.Message, Is.EqualTo(message));
        else
            Assert.That(e!.Message, Does.StartWith("aged.yaml:1: unknown key in machine.free_area_cache"));
    }

    [Test]
    public void TheCacheNeedsAFreeArea()
    {
        var e = Assert.Throws<InputException>(() => Build("ram: 8M, free_area_cache: {inactive_file: 1}"));
        Assert.That(e!.Message, Is.EqualTo("aged.yaml:1: machine.free_area_cache needs machine.free_area (the cache is made of the pages its free blocks leave held) (got '(a mapping)')"));
    }

    [Test]
    public void TheEffectiveConfigurationShowsTheFreeAreaAndTheCache()
    {
        using SimMachine m = Build(Aged + ", free_area_cache: {inactive_file: 300, active_file: 100}");
        string text = EcsMem.Systems.Reporting.ReportTextWriter.Write(SimulationReport.Build(m, "aged.yaml"));
        Assert.That(text, Does.Match(@"\n\s+free_area\s+\[40,30,20,10,6,3,0,0,0,0,1\]\s+# 171 other pages held, pinned\n"));
        Assert.That(text, Does.Match(@"\n\s+free_area_cache\.inactive_file\s+300\s+#[^\n]*\n\s+free_area_cache\.active_file\s+100\n"));
    }

    [Test]
    public void TheWriterWritesTheKeySoTheScenarioReadsBackTheSame()
    {
        Scenario s = ScenarioParser.Parse(new StringReader(Scenario(Aged + ", free_area_cache: {active_file: 7}", 1)), "aged.yaml");
        Assert.That((s.Machine.FreeArea!.InactiveFile, s.Machine.FreeArea.ActiveFile), Is.EqualTo((0L, 7L)));
        string yaml = ScenarioWriter.ToYaml(s);
        Assert.That(yaml, Does.Contain("free_area_cache: {inactive_file: 0, active_file: 7}"));
        Scenario again = ScenarioParser.Parse(new StringReader(yaml), "again.yaml");
        Assert.That(again.Machine.FreeArea, Is.EqualTo(s.Machine.FreeArea));
        Assert.That(ScenarioWriter.ToYaml(again), Is.EqualTo(yaml));
    }
}
