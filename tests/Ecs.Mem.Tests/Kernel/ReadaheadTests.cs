using EcsMem.Systems.AddressSpace;
using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Filemap;
using EcsMem.Systems.Kernel;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Vmscan;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Fault-around (do_fault_around / filemap_map_pages), file readahead (mm/readahead.c) and the advice calls.
/// The "kernel" figures were recorded on this project's machine: Linux 6.18.44 x86-64, ext4 on virtio disk vda
/// (read_ahead_kb 8192, max_sectors_kb 4096), fault_around_bytes 65536 (the default), THP madvise, 2026-12-05,
/// 8 runs each of a C program that mmaps a 16 MiB file MAP_PRIVATE PROT_READ, drops it from the page cache with
/// posix_fadvise(POSIX_FADV_DONTNEED), optionally madvises the mapping, then reads one byte per page in order and
/// prints the getrusage ru_minflt / ru_majflt deltas of the loop. Where the kernel varied between runs the test
/// asserts EcsMem lies within the recorded range; where it did not, it asserts the exact figure.
/// </summary>
public class ReadaheadTests
{
    private static string Scenario(int pages, string? advice = null, int readAheadKb = 8192, int mapPages = 4096, string extraTimeline = "")
    {
        var w = new System.Text.StringBuilder();
        w.Append("machine: {ram: 64M, swap: 0, read_ahead_kb: ").Append(readAheadKb).Append("}\n");
        w.Append("processes:\n  - name: reader\n    layout: {exec: {}}\n    workload:\n");
        w.Append("      generator: \"seq:count=").Append(pages).Append(",base=0x7f0000000000,pages=").Append(pages).Append("\"\n");
        w.Append("timeline:\n  - at: 0\n    process: reader\n");
        w.Append("    mmap: {addr: 0x7f0000000000, length: ").Append(mapPages * 4096).Append(", prot: r--, flags: private, file: /data/f16m, fixed: true}\n");
        if (advice is not null)
            w.Append("  - at: 0\n    process: reader\n    madvise: {addr: 0x7f0000000000, length: ").Append(mapPages * 4096).Append(", advice: ").Append(advice).Append("}\n");
        w.Append(extraTimeline);
        return w.ToString();
    }

    private static (long Min, long Maj, SimMachine M) Run(string yaml)
    {
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "ra.yaml"));
        m.Run();
        var p = m.Kernel.Tasks.Processes[0];
        ProcessStats s = m.Kernel.World.Get<ProcessStats>(p);
        return (s.MinFlt, s.MajFlt, m);
    }

    [Test]
    public void ColdSequentialReadOf16MiBIsOneMajorFaultAndOneMinorFaultPer16Pages()
    {
        // Kernel: majflt 1 in all 8 runs; minflt 255..261. Read-around reads pages 0..2047 (ra_pages 2048, centred
        // on page 0 and clipped there), the marker at 1536 starts 2048..4095; fault-around maps 16 pages a fault.
        var (min, maj, m) = Run(Scenario(4096));
        using var _ = m;
        Assert.That(maj, Is.EqualTo(1));
        Assert.That(min, Is.InRange(255, 261));
        Assert.That(min, Is.EqualTo((4096 / 16) - 1), "one fault per 16-page window; the major fault's retry maps the first window");
        Assert.That(m.Env.Counters.Get("ecsmem_readahead_pages"), Is.EqualTo(4095), "every page but the faulting one was read ahead");
        Assert.That(m.Env.Counters.Get("pgpgin"), Is.EqualTo(4096 * 4), "the whole file, in kB");
    }

    [Test]
    public void AFaultGoesOnWhenItsOwnBioIsReadAndMeetsTheNextBioStillLocked()
    {
        // Measured (oracle/experiments/fault-around, 5 runs of ra-reread-memcg on 6.18): after a major fault at page X
        // the reader faults again at X + 256 — the next bio of its window (BIO_MAX_VECS = 256 order-0 folios), which
        // fault-around skipped as locked — as a minor fault, and its retry maps the rest of that 16-page block.
        // Here the first touch is at page 1028: read-around reads [4, 2052), the marker at 4 + 2048 - 512 = 1540. The
        // faulting page's bio is [1028, 1284), so the fault goes on when pages 4..1283 are read and 1284.. are not.
        // The older model's unit, a bio of 256 folios (machine.readahead_requests: false); the request model, the
        // default, has its own case below.
        const int First = 1028, Count = 1536 - First;
        string yaml = Scenario(Count).Replace("base=0x7f0000000000", $"base=0x{0x7f0000000000L + (First * 4096L):x}", StringComparison.Ordinal)
            .Replace("read_ahead_kb: 8192}", "read_ahead_kb: 8192, readahead_requests: false}", StringComparison.Ordinal);
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "bio.yaml"));
        Assert.That(m.Kernel.Options.ReadaheadRequests, Is.False);
        using var _ = m;
        int file = m.Kernel.Files.Intern("/data/f16m");
        var p = m.Kernel.Tasks.Processes[0];
        KernelKit.RunUntil(m, () => m.Kernel.World.Get<ProcessStats>(p).MajFlt == 1);
        bool Locked(int i) => (m.Kernel.Zone.Frames[m.Kernel.PageCache.Find(file, i)].Flags & FrameFlags.Locked) != 0;
        Assert.That(Enumerable.Range(4, 1280).Count(i => i != First && Locked(i)), Is.Zero, "pages 4..1283 were read with the fault's bio");
        Assert.That(Enumerable.Range(1284, 2052 - 1284).All(Locked), "1284..2051: the rest of the window, still in flight");
        m.Run();
        ProcessStats s = m.Kernel.World.Get<ProcessStats>(p);
        // Blocks 1024..1520 (32): the first is the major fault; 31 minor ones, and one more on page 1284.
        Assert.That(s.MajFlt, Is.EqualTo(1));
        Assert.That(s.MinFlt, Is.EqualTo(31 + 1));
    }

    [Test]
    public void WithReadaheadRequestsContiguousPagesShareBvecsAndTheWindowUnlocksWithTheRequestHoldingItsBiosEnd()
    {
        // machine.readahead_requests (read_pages under its plug as the block layer forms requests). The same read-around
        // as above, [4, 2052) from a first touch at 1028, on a fresh machine whose frames come from the buddy allocator in
        // order: the window is a few physically contiguous runs, so its 2,048 pages are one bio of a few bvecs
        // (bvec_try_merge_page), cut at max_sectors_kb 4096 (1,024 pages) into [4, 1028) and [1028, 2052); the second
        // part cannot back-merge into the first request (2,048 > 1,024 pages), so it is a request of its own and the bio,
        // whose last part it holds, unlocks every page of the window together when it completes: no page is still
        // locked when the major fault goes on (page 1284 was with 256-folio bios), so the pass is one major fault and
        // the 31 minor faults of blocks 1040..1520 only (write-memcg-majors' run 1 read window 0 as two such requests).
        const int First = 1028, Count = 1536 - First;
        string yaml = Scenario(Count).Replace("base=0x7f0000000000", $"base=0x{0x7f0000000000L + (First * 4096L):x}", StringComparison.Ordinal)
            .Replace("read_ahead_kb: 8192}", "read_ahead_kb: 8192, readahead_requests: true}", StringComparison.Ordinal);
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "req.yaml"));
        using var _ = m;
        Assert.That(m.Kernel.Options.ReadaheadRequests, Is.True);
        int file = m.Kernel.Files.Intern("/data/f16m");
        var p = m.Kernel.Tasks.Processes[0];
        KernelKit.RunUntil(m, () => m.Kernel.World.Get<ProcessStats>(p).MajFlt == 1);
        int breaks = Enumerable.Range(5, 2047).Count(i => m.Kernel.PageCache.Find(file, i) != m.Kernel.PageCache.Find(file, i - 1) + 1);
        Assert.That(breaks, Is.LessThan(BioMaxVecsForTest), "precondition: the window's frames form fewer than 256 bvecs (one bio)");
        bool Locked(int i) => (m.Kernel.Zone.Frames[m.Kernel.PageCache.Find(file, i)].Flags & FrameFlags.Locked) != 0;
        Assert.That(Enumerable.Range(4, 2048).Count(Locked), Is.Zero, "the whole window was read when the fault went on");
        m.Run();
        ProcessStats s = m.Kernel.World.Get<ProcessStats>(p);
        Assert.That(s.MajFlt, Is.EqualTo(1));
        Assert.That(s.MinFlt, Is.EqualTo(31));
    }

    private const int BioMaxVecsForTest = 256; // BIO_MAX_VECS, include/linux/bio.h

    [TestCase(false)]
    [TestCase(true)]
    public void WithTheReadaheadQueueAWindowsRequestsStartWhenTheDiskHasServedTheWindowBeforeIt(bool queue)
    {
        // machine.readahead_queue (MqDeadline: mq-deadline in front of a disk that serves one request at a time;
        // readahead-bios measured each read issued when the one before it completes). MADV_WILLNEED over 1,024
        // pages is force_page_cache_ra's two 2 MiB chunks, [0, 512) and [512, 1024), each its own read_pages at the same
        // instant; on a fresh machine each chunk's frames are a few contiguous runs, one request. Without the queue both complete
        // DiskReadCycles(512) after the call; with it the second starts when the first ends, so it completes
        // DiskReadCycles(512) = 300,000 + 511 x 6,000 = 3,366,000 cycles (the default latency.major_fault and
        // latency.disk_page) after the first. The reader touches page 0 only once the first chunk is read.
        string yaml = Scenario(1024, "willneed", mapPages: 1024)
            .Replace("read_ahead_kb: 8192}", "read_ahead_kb: 8192, readahead_requests: true" + (queue ? ", readahead_queue: true}" : "}"), StringComparison.Ordinal);
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "queue.yaml"));
        using var _ = m;
        Assert.That(m.Kernel.Options.ReadaheadQueue, Is.EqualTo(queue));
        int file = m.Kernel.Files.Intern("/data/f16m");
        Frame[] frames = m.Kernel.Zone.Frames;
        bool Locked(int i) => m.Kernel.PageCache.Find(file, i) is int pfn && pfn >= 0 && (frames[pfn].Flags & FrameFlags.Locked) != 0;
        KernelKit.RunUntil(m, () => m.Kernel.PageCache.Find(file, 1023) >= 0);
        Assert.That(Enumerable.Range(0, 1024).All(Locked), "both chunks are in flight once WILLNEED has submitted them");
        int breaks = Enumerable.Range(1, 1023).Count(i => i != 512 && m.Kernel.PageCache.Find(file, i) != m.Kernel.PageCache.Find(file, i - 1) + 1);
        Assert.That(breaks, Is.LessThan(Readahead.QueueMaxSegments), "precondition: each chunk's frames form fewer than 254 segments (one request)");
        KernelKit.RunUntil(m, () => !Locked(0));
        ulong first = m.Env.Now;
        Assert.That(Enumerable.Range(0, 512).Any(Locked), Is.False, "the first chunk completes as one request");
        Assert.That(Enumerable.Range(512, 512).All(Locked), Is.EqualTo(queue), queue ? "the second chunk waits for the disk" : "the second chunk completed with the first");
        KernelKit.RunUntil(m, () => !Locked(512));
        long gap = (long)(m.Env.Now - first);
        const long DiskRead512 = 300_000 + (511 * 6_000);
        Assert.That(m.Kernel.Timing.DiskReadCycles(512), Is.EqualTo(DiskRead512), "precondition: the default latencies");
        if (queue)
            Assert.That(gap, Is.InRange(DiskRead512, DiskRead512 + 100_000), "the second request is served after the first");
        else
            Assert.That(gap, Is.Zero);
    }

    [Test]
    public void AnAsyncWindowOfOrder2FoliosIsReadAsTwoBiosThatUnlockOneAfterTheOther()
    {
        // Measured (oracle/experiments/readahead-bios, swappiness-60 on 6.18, block_rq_issue/complete): the async window
        // [2048, 4096) that the mark at 1536 starts is 512 order-2 folios, two bios of BIO_MAX_VECS folios; the block
        // layer reads the first as requests of 1,016 + 8 pages (max_segments 254) and the second as one of 1,024, one
        // after another, and each bio unlocks its folios when its last request completes (2.6-4.0 ms, then 5.5-7.1 ms
        // after the window's read began). So there is a moment when [2048, 3072) is readable and [3072, 4096) is not.
        // The older model (machine.readahead_requests: false, buddy-only frames), whose unit is the 256-folio bio; the
        // request model's unlock order for this window is not derived here.
        string yaml = Scenario(4096).Replace("read_ahead_kb: 8192}", "read_ahead_kb: 8192, readahead_requests: false, per_cpu_pages: false}", StringComparison.Ordinal);
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "bios.yaml"));
        Assert.That(m.Kernel.Options.ReadaheadRequests, Is.False);
        using var _ = m;
        int file = m.Kernel.Files.Intern("/data/f16m");
        Frame[] frames = m.Kernel.Zone.Frames;
        bool Locked(int i) => (frames[m.Kernel.PageCache.Find(file, i)].Flags & FrameFlags.Locked) != 0;
        KernelKit.RunUntil(m, () => m.Kernel.PageCache.Find(file, 4095) >= 0);
        Assert.That(frames[m.Kernel.PageCache.Find(file, 2048)].FolioOrder, Is.EqualTo(2), "the async window's folios are order 2");
        Assert.That(Enumerable.Range(2048, 2048).All(Locked), "the whole window is in flight when it is submitted");
        KernelKit.RunUntil(m, () => !Locked(2048));
        Assert.That(Enumerable.Range(2048, 1024).Any(Locked), Is.False, "the first bio's 256 folios complete together");
        Assert.That(Enumerable.Range(3072, 1024).All(Locked), "the second bio is still in flight");
        KernelKit.RunUntil(m, () => !Locked(3072));
        Assert.That(Enumerable.Range(3072, 1024).Any(Locked), Is.False);
    }

    [Test]
    public void MadvRandomReadsEveryPageWithItsOwnMajorFault()
    {
        // Kernel: 4096 major, 0 minor in all 8 runs (VM_RAND_READ: no readahead; fault-around finds nothing cached).
        var (min, maj, m) = Run(Scenario(4096, "random"));
        using var _ = m;
        Assert.That(maj, Is.EqualTo(4096));
        Assert.That(min, Is.EqualTo(0));
        Assert.That(m.Env.Counters.Get("ecsmem_readahead_pages"), Is.EqualTo(0));
    }

    [Test]
    public void MadvSequentialIsOneMajorFault()
    {
        // Kernel: majflt 1, minflt 255..262. page_cache_sync_ra at index 0: get_init_ra_size(2048, 2048) = 2048,
        // async_size 1024; the marker at 1024 pushes the window to 2048..4095.
        var (min, maj, m) = Run(Scenario(4096, "sequential"));
        using var _ = m;
        Assert.That(maj, Is.EqualTo(1));
        Assert.That(min, Is.InRange(255, 262));
    }

    [Test]
    public void MadvWillneedReadsAheadSoTheFirstFaultIsMinor()
    {
        // Kernel: majflt 1 (once 2), minflt 255..258. WILLNEED reads min(16 MiB, max(io_pages, ra_pages)) = 2048
        // pages; page 0 is then a minor fault and the first major fault is at page 2048 (read-around from 1024).
        var (min, maj, m) = Run(Scenario(4096, "willneed"));
        using var _ = m;
        Assert.That(maj, Is.InRange(1, 2));
        Assert.That(min, Is.InRange(255, 258));
        Assert.That(m.AddressSpace.Log.Any(l => l.EndsWith(Strace.Line("madvise(0x7f0000000000, 16777216, MADV_WILLNEED)", "0"), StringComparison.Ordinal)));
    }

    [Test]
    public void ColdReadOf1024PagesAndARereadThroughANewMapping()
    {
        // Kernel: first pass majflt 1, minflt 63..66; a second pass through a new mapping of the now cached
        // pages: minflt 64, majflt 0 in all runs (1024 pages / 16 per fault-around window).
        var (min, maj, m) = Run(Scenario(1024, mapPages: 4096));
        using (m)
        {
            Assert.That(maj, Is.EqualTo(1));
            Assert.That(min, Is.InRange(63, 66));
        }
        string twice = """
            machine: {ram: 64M, swap: 0, read_ahead_kb: 8192}
            processes:
              - name: reader
                layout: {exec: {}}
                workload:
                  generator: "loop:count=2048,base=0x7f0000000000,pages=1024"
            timeline:
              - at: 0
                process: reader
                mmap: {addr: 0x7f0000000000, length: 16M, prot: r--, flags: private, file: /data/f16m, fixed: true}
              - after: 1024
                process: reader
                munmap: {addr: 0x7f0000000000, length: 16M}
              - after: 1024
                process: reader
                mmap: {addr: 0x7f0000000000, length: 16M, prot: r--, flags: private, file: /data/f16m, fixed: true}
            """;
        var (min2, maj2, m2) = Run(twice);
        using var _ = m2;
        Assert.That(maj2, Is.EqualTo(1));
        Assert.That(min2 - min, Is.EqualTo(64), "the second pass: 64 minor faults");
    }

    [Test]
    public void WithTheDefault128KiBWindowTheStreamFaultsTwicePer32Pages()
    {
        // Worked by hand (ra_pages 32): fault 0 is major and reads 0..31 (read-around: single pages; async_size 8,
        // marker at 24); faults at 16 and at the marker 24 follow (fault-around skips the marker page). The marker
        // moves the window to 32..63 with async_size 32, so every later window has its marker on its first page, and
        // its folios grow two orders a window (page_cache_ra_order: 2, 4, then 5 = ilog2(32)). The fault at a window's
        // marker starts the next window and is retried (VM_FAULT_RETRY: the mmap lock was dropped for the I/O), and the
        // retry's fault-around maps its 16-page block, or the whole folio once a folio is larger than the block
        // (filemap_map_folio_range, Linux 6.18): 32..63 and 64..95 take 2 faults each, each 32-page window from 96 on
        // 1 (one order-5 folio), but the last, whose folio reaches i_size (4064..4095: 2 by 16-page blocks).
        // 3 + 2 + 2 + 124 + 2 = 133 faults, one of them major.
        var (min, maj, m) = Run(Scenario(4096, readAheadKb: 128));
        using var _ = m;
        Assert.That(maj, Is.EqualTo(1));
        Assert.That(min, Is.EqualTo(132));
    }

    [Test]
    public void FaultAroundOffGivesOneFaultPerPage()
    {
        string yaml = Scenario(1024).Replace("read_ahead_kb: 8192", "read_ahead_kb: 8192, fault_around_bytes: 4096", StringComparison.Ordinal);
        var (min, maj, m) = Run(yaml);
        using var _ = m;
        Assert.That(maj + min, Is.EqualTo(1024));
        Assert.That(maj, Is.EqualTo(1));
    }

    [Test]
    public void WindowSizesFollowGetInitRaSizeAndGetNextRaSize()
    {
        // get_init_ra_size rounds up to a power of two, then ×4 when at most max/32, ×2 when at most max/4, else max.
        // For max = 32 (128 KiB): 1 → 4, 3 → 4 → 8 (4 > 1 but ≤ 8), 8 → 16, 9 → 16 → 32 (16 > 8) = max.
        Assert.That(Readahead.GetInitRaSize(1, 32), Is.EqualTo(4));
        Assert.That(Readahead.GetInitRaSize(3, 32), Is.EqualTo(8));
        Assert.That(Readahead.GetInitRaSize(8, 32), Is.EqualTo(16));
        Assert.That(Readahead.GetInitRaSize(9, 32), Is.EqualTo(32));
        Assert.That(Readahead.GetInitRaSize(2048, 2048), Is.EqualTo(2048));
        // get_next_ra_size: ×4 below max/16, ×2 up to max/2, else max. max = 2048: 64 → 256, 128 → 256, 1024 → 2048, 1025 → 2048.
        Assert.That(Readahead.GetNextRaSize(64, 2048), Is.EqualTo(256));
        Assert.That(Readahead.GetNextRaSize(128, 2048), Is.EqualTo(256));
        Assert.That(Readahead.GetNextRaSize(1024, 2048), Is.EqualTo(2048));
        Assert.That(Readahead.GetNextRaSize(1025, 2048), Is.EqualTo(2048));
        Assert.That(Readahead.GetNextRaSize(32, 32), Is.EqualTo(32));
    }

    [Test]
    public void FaultAroundPagesIsTheBytesRoundedDownToAPowerOfTwo()
    {
        // fault_around_bytes_set: rounddown_pow_of_two(val) >> PAGE_SHIFT, at least 1.
        Assert.That(new KernelOptions { FaultAroundBytes = 65536 }.FaultAroundPages, Is.EqualTo(16));
        Assert.That(new KernelOptions { FaultAroundBytes = 100_000 }.FaultAroundPages, Is.EqualTo(16));
        Assert.That(new KernelOptions { FaultAroundBytes = 131072 }.FaultAroundPages, Is.EqualTo(32));
        Assert.That(new KernelOptions { FaultAroundBytes = 4096 }.FaultAroundPages, Is.EqualTo(1));
        Assert.That(new KernelOptions { FaultAroundBytes = 0 }.FaultAroundPages, Is.EqualTo(1));
        Assert.That(new KernelOptions { FaultAroundBytes = 2 << 20 }.FaultAroundPages, Is.EqualTo(512));
    }

    [Test]
    public void FaultAroundIsClippedToTheVma()
    {
        // p1 caches pages 0..63 of the file; later p2 maps file pages 3..7 (5 pages) and reads the first. The
        // 16-page window around it (file pages 0..15) is clipped to the VMA: one fault maps exactly those 5 pages,
        // although pages 0..2 and 8..15 are cached too.
        using var m = new SimMachine(KernelKit.Options());
        int file = m.Kernel.Files.Intern("/data/f");
        var reads = Enumerable.Range(0, 64).Select(i => KernelKit.R(KernelKit.Base + ((ulong)i * KernelKit.Page))).ToArray();
        KernelKit.Add(m, "p1", mm => KernelKit.Mmap(mm, KernelKit.Base, 64, Prot.Read, MapFlags.Private, file), 0, reads);
        var p2 = KernelKit.Add(m, "p2", mm => KernelKit.Mmap(mm, KernelKit.Base + (3 * KernelKit.Page), 5, Prot.Read, MapFlags.Private, file, 3),
            100_000_000, KernelKit.R(KernelKit.Base + (3 * KernelKit.Page)));
        KernelKit.RunUntilAccesses(m, p2, 1);
        Assert.That(m.Kernel.PageCache.Find(file, 0), Is.GreaterThanOrEqualTo(0), "page 0 is cached (outside p2's VMA)");
        Assert.That(m.Kernel.PageCache.Find(file, 8), Is.GreaterThanOrEqualTo(0), "page 8 is cached (outside p2's VMA)");
        Assert.That(KernelKit.Mm(m, p2).Mm.Struct.RssFile, Is.EqualTo(5UL));
        Assert.That(KernelKit.Stats(m, p2).MinFlt, Is.EqualTo(1));
        Assert.That(KernelKit.Stats(m, p2).MajFlt, Is.EqualTo(0));
    }

    /// <summary>One read fault at page 0 of /data/f (read_ahead_kb 16: pages 0..3), the mapping gone, then
    /// posix_fadvise(fd, 4097, 8192, DONTNEED).</summary>
    private const string FadviseDontneedScenario = """
        machine: {ram: 64M, swap: 0, read_ahead_kb: 16}
        processes:
          - name: reader
            layout: {exec: {}}
            workload:
              generator: "seq:count=1,base=0x7f0000000000,pages=1"
        timeline:
          - at: 0
            process: reader
            mmap: {addr: 0x7f0000000000, length: 16K, prot: r--, flags: private, file: /data/f, fixed: true}
          - after: 1
            process: reader
            munmap: {addr: 0x7f0000000000, length: 16K}
          - after: 1
            process: reader
            fadvise: {file: /data/f, offset: 4097, length: 8192, advice: dontneed}
        """;

    [Test]
    public void FadviseDontneedDropsOnlyWholeCleanUnmappedPagesInTheRange()
    {
        // posix_fadvise(fd, 4097, 8192, DONTNEED): start_index = ceil(4097 / 4096) = 2; endbyte = 4097 + 8192 - 1 =
        // 12288, whose page 3 is not wholly inside (12288 % 4096 != 4095), so end_index = 2: page 2 alone goes.
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(FadviseDontneedScenario), "f.yaml"));
        using var _ = m;
        m.Run();
        int file = m.Kernel.Files.Intern("/data/f");
        // read_ahead_kb 16 = 4 pages: the fault at page 0 read 0..3 (read-around from max(0, 0 - 2)).
        Assert.That(m.Kernel.PageCache.Find(file, 0), Is.GreaterThanOrEqualTo(0));
        Assert.That(m.Kernel.PageCache.Find(file, 1), Is.GreaterThanOrEqualTo(0));
        Assert.That(m.Kernel.PageCache.Find(file, 2), Is.EqualTo(-1));
        Assert.That(m.Kernel.PageCache.Find(file, 3), Is.GreaterThanOrEqualTo(0));
        Assert.That(m.AddressSpace.Log.Any(l => l.Contains("fadvise64(", StringComparison.Ordinal) && l.Contains("</data/f>, 4097, 8192, POSIX_FADV_DONTNEED)", StringComparison.Ordinal) && l.EndsWith("= 0", StringComparison.Ordinal)));
    }

    /// <summary>
    /// One read fault at page 0 of /data/f (read_ahead_kb 32: pages 0..7 read, fault-around off: page 0 alone mapped),
    /// then drop_caches 1; runs until the read's pages are in and unlocked, before the drop.
    /// </summary>
    private static SimMachine DropCachesAfterPagesRead(out int file)
    {
        const string Yaml = """
            machine: {ram: 64M, swap: 0, read_ahead_kb: 32, fault_around_bytes: 4096}
            processes:
              - name: reader
                layout: {exec: {}}
                workload:
                  generator: "loop:count=3,base=0x7f0000000000,pages=1"
            timeline:
              - at: 0
                process: reader
                mmap: {addr: 0x7f0000000000, length: 128K, prot: r--, flags: private, file: /data/f, fixed: true}
              - after: 1
                process: reader
                drop_caches: 1
            """;
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Yaml), "d.yaml"));
        int f = m.Kernel.Files.Intern("/data/f");
        KernelKit.RunUntil(m, () => m.Kernel.Readahead.InFlight == 0 && m.Kernel.PageCache.Find(f, 7) >= 0
            && (m.Kernel.Zone.Frames[m.Kernel.PageCache.Find(f, 7)].Flags & FrameFlags.Locked) == 0);
        file = f;
        return m;
    }

    [Test]
    public void DropCachesKeepsMappedPagesAndDropsTheRest()
    {
        // read_ahead_kb 32 = 8 pages: the fault at page 0 reads 0..7 (read-around from max(0, 0 - 4)); with
        // fault-around off only page 0 is mapped, so drop_caches 1 drops pages 1..7 and keeps page 0.
        using var m = DropCachesAfterPagesRead(out int file);
        Assert.That(Enumerable.Range(0, 8).All(i => m.Kernel.PageCache.Find(file, i) >= 0), "pages 0..7 read");
        KernelKit.RunUntil(m, () => m.AddressSpace.Log.Any(l => l.EndsWith(Strace.DropCachesWrite(1), StringComparison.Ordinal)));
        Assert.That(m.Kernel.PageCache.Find(file, 0), Is.GreaterThanOrEqualTo(0), "mapped: kept");
        Assert.That(Enumerable.Range(1, 7).All(i => m.Kernel.PageCache.Find(file, i) < 0), "clean and unmapped: dropped");
    }

    [Test]
    public void FadviseDontneedDrainsTheLocalLruAddBatchFirst()
    {
        // The scenario above: the fault at page 0 reads pages 0..3 into the page cache, each joining CPU 0's lru_add batch
        // (folio_add_lru: 4 folios, under the batch's 31, so it has not moved). generic_fadvise DONTNEED on page 2 calls
        // lru_add_drain first, so the batch moves: pages 0, 1, 3 (kept: outside the range) are on the inactive file list
        // afterwards, not batched, and page 2 goes; nothing refused it, so no lru_add_drain_all was needed (one CPU here).
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(FadviseDontneedScenario), "f.yaml"));
        using var _ = m;
        int file = m.Kernel.Files.Intern("/data/f");
        KernelKit.RunUntil(m, () => m.Kernel.Readahead.InFlight == 0 && m.Kernel.PageCache.Find(file, 3) >= 0
            && (m.Kernel.Zone.Frames[m.Kernel.PageCache.Find(file, 3)].Flags & FrameFlags.Locked) == 0);
        int[] kept = [.. new[] { 0, 1, 3 }.Select(i => m.Kernel.PageCache.Find(file, i))];
        Assert.That(kept.All(pfn => pfn >= 0 && m.Kernel.Zone.InLruAddBatch(pfn)), "pages 0, 1, 3 wait in the batch before the fadvise");
        Assert.That(m.Kernel.LruAddBatches!.Pending, Is.EqualTo(4), "pages 0..3, the batch's only folios");
        KernelKit.RunUntil(m, () => m.AddressSpace.Log.Any(l => l.Contains("POSIX_FADV_DONTNEED", StringComparison.Ordinal)));
        Assert.That(m.Kernel.PageCache.Find(file, 2), Is.EqualTo(-1), "page 2 dropped");
        Assert.That(m.Kernel.LruAddBatches!.Pending, Is.Zero, "lru_add_drain moved CPU 0's batch");
        var inactiveFile = m.Kernel.Lruvec!.Frames(LruList.InactiveFile).ToHashSet();
        Assert.That(kept.All(inactiveFile.Contains), "pages 0, 1, 3 on the inactive file list");
    }

    [Test]
    public void DropCachesDrainsEveryCpusLruAddBatchFirst()
    {
        // drop_caches_sysctl_handler: lru_add_drain_all, then invalidate_mapping_pages of every file. The scenario of
        // DropCachesKeepsMappedPagesAndDropsTheRest: pages 0..7 read into CPU 0's batch; page 0 is mapped and stays, and
        // it is on the inactive file list afterwards (the drain moved it), with no batch holding anything.
        using var m = DropCachesAfterPagesRead(out int file);
        int page0 = m.Kernel.PageCache.Find(file, 0);
        Assert.That(m.Kernel.Zone.InLruAddBatch(page0), Is.True, "page 0 waits in the batch before the drop");
        KernelKit.RunUntil(m, () => m.AddressSpace.Log.Any(l => l.EndsWith(Strace.DropCachesWrite(1), StringComparison.Ordinal)));
        Assert.That(m.Kernel.PageCache.Find(file, 0), Is.EqualTo(page0), "mapped: kept");
        Assert.That(m.Kernel.LruAddBatches!.Pending, Is.Zero, "lru_add_drain_all");
        Assert.That(m.Kernel.Lruvec!.Frames(LruList.InactiveFile).Contains(page0), Is.True, "page 0 on the inactive file list");
    }

    [Test]
    public void MadviseReturnsEinvalAndEnomemWhereLinuxDoes()
    {
        string yaml = Scenario(1, extraTimeline: """
              - at: 0
                process: reader
                madvise: {addr: 0x7f0000000001, length: 4096, advice: random}
              - at: 0
                process: reader
                madvise: {addr: 0x7eff00000000, length: 4096, advice: random}
              - at: 0
                process: reader
                madvise: {addr: 0x7f0000000000, length: 0, advice: random}
            """);
        var (_, _, m) = Run(yaml);
        using var _m = m;
        var log = m.AddressSpace.Log;
        Assert.That(log.Any(l => l.EndsWith(Strace.Line("madvise(0x7f0000000001, 4096, MADV_RANDOM)", "-1 EINVAL (Invalid argument)"), StringComparison.Ordinal)), string.Join("\n", log));
        Assert.That(log.Any(l => l.EndsWith(Strace.Line("madvise(0x7eff00000000, 4096, MADV_RANDOM)", "-1 ENOMEM (Cannot allocate memory)"), StringComparison.Ordinal)), string.Join("\n", log));
        Assert.That(log.Any(l => l.EndsWith(Strace.Line("madvise(0x7f0000000000, 0, MADV_RANDOM)", "0"), StringComparison.Ordinal)), string.Join("\n", log));
    }

    [Test]
    public void MadvRandomOnHalfTheMappingSplitsTheVma()
    {
        string yaml = Scenario(1, extraTimeline: """
              - at: 0
                process: reader
                madvise: {addr: 0x7f0000800000, length: 8M, advice: random}
            """);
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "split.yaml"));
        using var _ = m;
        var p = m.Kernel.Tasks.Processes[0];
        KernelKit.RunUntil(m, () => m.AddressSpace.Log.Count(l => l.Contains("madvise", StringComparison.Ordinal)) == 1);
        var vmas = m.Kernel.Tasks.MmOf(p).Mm.Vmas;
        Vma low = vmas[vmas.FindVma(0x7f0000000000)];
        Vma high = vmas[vmas.FindVma(0x7f0000800000)];
        Assert.That(low.End, Is.EqualTo(0x7f0000800000UL), "split where the advice starts");
        Assert.That(low.Flags & VmFlags.RandRead, Is.EqualTo(VmFlags.None));
        Assert.That(high.Start, Is.EqualTo(0x7f0000800000UL));
        Assert.That(high.Flags & VmFlags.RandRead, Is.EqualTo(VmFlags.RandRead));
        Assert.That(high.PgOff, Is.EqualTo(0x800000UL / 4096), "the upper half keeps its file offset");
    }

    [Test]
    public void UnsupportedAdviceIsOneClearError()
    {
        string yaml = Scenario(1, "remove");
        var e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => ScenarioParser.Parse(new StringReader(yaml), "u.yaml"));
        Assert.That(e!.Message, Does.Contain("madvise advice 'remove' is not supported yet"));
        Assert.That(e.Message, Does.StartWith("u.yaml:"));
    }
}
