namespace EcsMem.Oracle;

/// <summary>
/// The kit harness's own anonymous pages under a memcg (oracle/harness.h), as the scenario maps them: VMAs at
/// the real process's places (<see cref="HarnessLayout"/>), whose pages stand for, in this order,
/// <list type="bullet">
/// <item>the start-up pages: what ld.so, libc and main's frame wrote before <c>warm_up</c> (libc's and ld.so's
/// data, bss and RELRO pages, the program's .data and RELRO, the TLS, the top of the stack): the recorded
/// footprint less the pages <c>warm_up</c> writes (<see cref="StartupRoles"/>);</item>
/// <item><c>warm_up</c>'s stack array (<c>stack[256 &lt;&lt; 10]</c>: 64 pages);</item>
/// <item>the bss's anonymous pages: <c>buf</c> and <c>out</c> (<c>1 &lt;&lt; 18</c> bytes each) and <c>reg</c>
/// behind them, 128 pages. gcc puts <c>buf</c> 3.5 KiB before the end of the .data page (so <c>buf</c> is
/// bss pages 0–62 and the head of 63), <c>outn</c> and the head of <c>out</c> in page 63, <c>out</c> up to 126
/// and the head of 127, <c>reg</c> in 127.</item>
/// </list>
/// The prelude writes them in the C program's order, which (measured with oracle/experiments/harness-footprint on
/// Linux 6.18) is the order memcg reclaim swaps them out in, slot by slot into swap cluster 0: the start-up pages,
/// the stack array, <c>warm_up</c>'s loop over <c>out</c> (bss 63–126), its loop over <c>buf</c> (bss 0–62),
/// then <c>reg</c> (127, the loop that clears the descriptors).
/// Each phase's window starts with phase_start's stores (<see cref="PhaseStart"/>: the top stack page, the globals) and
/// ends with phase_end's up to its getrusage (<see cref="PhaseEnd"/>: the top two stack pages); its reads of the globals
/// follow the window (<see cref="AfterWindow"/>). Then
/// phase_end, before the kernel gives the program's first smaps record (<see cref="BeforeSnapshot"/>, where the
/// scenario's VMAs are read): emit's libc and TLS pages, its stack frame and <c>outn</c>'s page, and in the first
/// phase_end the dynamic linker's lazy binding of the functions it calls first. After it
/// (<see cref="BetweenPhasesAfter"/>, before the next phase): a deeper stack page (not under an empty environment), <c>buf</c>'s first
/// pages (slurp of /proc/self/smaps: measured per phase, <see cref="MeasuredLengths"/>, or <see cref="SmapsBufPages"/>) and <c>reg</c>'s.
/// </summary>
/// <param name="Pages">The VMA's size in pages: the whole footprint.</param>
/// <param name="Prelude">Page indices written before the first phase, in order.</param>
/// <param name="BetweenPhases">Page indices phase_end writes after it read the program's VMAs (before the next phase), in order.</param>
/// <param name="PhaseEnd">Page indices written at the end of each phase's window.</param>
/// <param name="FirstBeforeSnapshot">Page indices the first phase_end writes after the window and before smaps gives the program's VMAs.</param>
/// <param name="LaterBeforeSnapshot">The same for every later phase_end.</param>
public sealed record HarnessFootprint(long Pages, long[] Prelude, long[] BetweenPhases, long[] PhaseEnd, long[] FirstBeforeSnapshot, long[] LaterBeforeSnapshot)
{
    /// <summary><c>warm_up</c>'s stack array in pages (harness.h: <c>volatile char stack[256 &lt;&lt; 10]</c>).</summary>
    public const long WarmUpStackPages = (256 << 10) / ProgramPlan.PageSize;

    /// <summary>sizeof <c>buf</c> (harness.h, <c>1 &lt;&lt; 18</c>): the most one pwrite or pread of the C program copies.</summary>
    public const long BufBytes = 1 << 18;

    /// <summary>
    /// The bytes of <c>buf</c> holding data when a swap program's first phase begins: swap_counts' slurp of
    /// /proc/vmstat (4,068 bytes and its NUL on Linux 6.18.44, measured) is the only read into it after warm_up zeroed
    /// it, so one page. A pwrite of the first phase copies that page and zeros (<see cref="ScenarioGenerator.PwritePieces"/>).
    /// </summary>
    public const long VmstatBufBytes = ProgramPlan.PageSize;

    /// <summary>The bss's anonymous pages: <c>buf</c> and <c>out</c>, <c>1 &lt;&lt; 18</c> bytes each (harness.h), <c>reg</c> in the last.</summary>
    public const long BssPages = 2 * (BufBytes / ProgramPlan.PageSize);

    /// <summary>The bss page holding <c>outn</c> and the head of <c>out</c> (and <c>buf</c>'s tail).</summary>
    public const long OutnPage = BssPages / 2 - 1;

    /// <summary>
    /// <c>buf</c>'s pages one <c>slurp("/proc/self/smaps")</c> fills: the kit programs' smaps is 19–20 KB (19,146
    /// bytes for swap-anon-read, measured), written from <c>buf</c>'s start 3.5 KiB before the bss's first page, so
    /// bss pages 0–3 (smaps_rollup, memory.stat and meminfo are shorter and land in the same pages). The one-size model,
    /// for a program oracle/harness-lengths.tsv lacks or under <c>ECSMEM_ORACLE_HARNESS_LENGTHS=0</c>: by default
    /// <see cref="BetweenPhasesAfter"/> takes each phase's measured count (5 for the <c>swappiness-N</c> programs, whose
    /// smaps is 19,832–19,844 bytes from <c>buf</c>'s start 3,264 bytes before the bss: <see cref="MeasuredLengths"/>).
    /// </summary>
    public const long SmapsBufPages = 4;

    /// <summary>
    /// The start-up pages by role, in prelude order, with their counts (measured on Linux 6.18 with
    /// oracle/experiments/harness-footprint: which harness pages are resident right before phase_end reads smaps
    /// and right after, having been swapped out during the phase): the stack page of main's frame (getrusage's
    /// <c>u</c>) and the program's .data page (the globals: <c>sink</c>, <c>min0</c>, <c>errs</c>), the window's end;
    /// "emit": a TLS page, the stack's top page (<see cref="TopStackPage"/>: exec's, which phase_end's getenv reads,
    /// never swapped on Linux) and libc's 6 data, bss and RELRO pages its calls use, and the other TLS page; "binding": the pages only the first phase_end touches (ld.so's data
    /// and RELRO, 3, the program's RELRO page with its GOT, ld.so's scratch page: lazy binding of open, read,
    /// sscanf, strtol and getenv); "deeper": the third stack page, which vmas' and sscanf's frames reach after the
    /// smaps read when the environment's strings (1.5 KB and more) push main's frame down, not under record.sh's
    /// <c>env -i</c> (oracle/experiments/harness-resident: 22 and 17 pages resident at the rollup's reads with an empty
    /// environment, 23 and 18 with 1.5 or 3 KB, the third stack page the difference); the rest were written at
    /// start-up only.
    /// </summary>
    public static readonly (string Role, int Count)[] StartupRoles = [("window", 2), ("emit", 9), ("binding", 5), ("deeper", 1)];

    /// <summary>
    /// The start-up page standing for the stack's top page (0x7fffffffe000): exec copies the filename, the environment
    /// and argv into it (fs/exec.c copy_string_kernel, copy_strings, through get_arg_page's get_user_pages_remote,
    /// FOLL_FORCE | FOLL_WRITE with gup's FOLL_TOUCH), create_elf_tables puts argc, argv, envp and auxv below them, and
    /// under an empty environment _start's and __libc_start_main's frames follow; phase_end's getenv reads it.
    /// </summary>
    public const long TopStackPage = 3;

    /// <summary>
    /// The start-up page standing for main's stack page below the top one (0x7fffffffd000: main's frame with getrusage's
    /// <c>u</c>, the window role's store; emit's frames are there too), which memcg reclaim swaps out (slot 8 of 214 on Linux).
    /// </summary>
    public const long MainStackPage = 0;

    /// <summary>
    /// exec's get_arg_page calls on the top stack page, each a folio_mark_accessed (follow_page_pte's FOLL_TOUCH):
    /// copy_string_kernel for the filename, copy_strings for envp and for argv (one call per page each: the page stays
    /// kmapped across its strings). Referenced, then activated (still in the lru_add batch: PG_active set), then
    /// referenced again: measured on Linux 6.18 with oracle/experiments/stack-top, the page is <c>REFERENCED|ACTIVE</c>
    /// at main's entry in 14 of 14 runs and stays on the active list through the fill's reclaims, never swapped
    /// (memcg reclaim leaves a 1–2 page active anon list alone while the inactive one is large: inactive_is_low false,
    /// and its scan count, size &gt;&gt; priority, is 0 above priority 1).
    /// </summary>
    public const int ExecArgPageTouches = 3;

    /// <summary>
    /// The start-up pages in the order they reach the LRU, which is the order the fill's reclaim gives them swap slots,
    /// as measured on Linux 6.18 (oracle/experiments/stack-top, 6 of 8 runs of swap-anon-write and thp-swpout-fallback,
    /// the other 2 had the start-up pages still in a per-CPU lru_add batch of the CPU the process left): the top stack
    /// page first (exec), then the .data page, ld.so's 2 rw pages (1 then 0) and RELRO pages, the program's RELRO page,
    /// ld.so's scratch page, main's stack page, libc's rw 1 and RELRO 3, the two TLS pages, libc's RELRO 0, 1, 2 and
    /// rw 0, and libc's bss pages 5, 12, 6, 4, 0 (phase_end's libc pages: RELRO 1 and 3, rw 0 and 1, bss 0 and 6,
    /// oracle/experiments/harness-resident). By role: 3 the top page; 1 .data; 11–13 ld.so's binding pages and 16 its
    /// other RELRO page (under an empty environment the third stack page is written by warm_up's loop as part of the
    /// array, so index 16 stands for a start-up-only page); 14 the program's RELRO; 15 ld.so's scratch; 0 main's stack
    /// page; 4–9 libc's phase_end pages; 2 and 10 the TLS; 17–21 libc's start-up-only pages.
    /// </summary>
    public static readonly long[] StartupOrder = [TopStackPage, DataPage, 11, 12, 13, 16, 14, 15, MainStackPage, 4, 5, 2, RseqPage, 17, 6, 18, 7, 19, 20, 8, 21, 9];

    /// <summary>
    /// The prelude's start-up pages: <see cref="StartupOrder"/>'s indices below <paramref name="startup"/>, then any
    /// others in index order.
    /// </summary>
    public static IEnumerable<long> StartupPrelude(long startup)
    {
        foreach (long i in StartupOrder)
            if (i < startup)
                yield return i;
        for (long i = StartupOrder.Length; i < startup; i++)
            yield return i;
    }

    /// <summary>The start-up page standing for the program's .data page (the globals: <c>sink</c>, <c>min0</c>, <c>errs</c>).</summary>
    public const long DataPage = 1;

    /// <summary>
    /// The start-up page standing for the TLS page that holds glibc's struct rseq (the tail of struct pthread, which
    /// emit's libc calls touch too): the kernel's get_user of rseq_cs faulted at 0x7ffff7dd1068 in every traced fill
    /// (oracle/experiments/harness-per-run/results/window-faults.txt), so the area is at offset 0x60 of that page.
    /// </summary>
    public const long RseqPage = 10;

    /// <summary>The struct rseq's offset in <see cref="RseqPage"/> (0x7ffff7dd1060 in the traces).</summary>
    public const ulong RseqOffset = 0x60;

    /// <summary>
    /// The harness pages that are zero-filled when the fill swaps them out, as runs (first page index, count): the stack
    /// array's pages above its lowest <see cref="SignalFramePages"/> and the bss's <c>buf</c> and <c>out</c> but
    /// <c>outn</c>'s page (<see cref="OutnPage"/>; <c>reg</c>'s page holds -1s): 61 + 126 pages. Measured on Linux 6.18: the
    /// fill writes swap slots 1-23, 85 and 212-213 to the device and no other harness slot
    /// (oracle/experiments/thp-swap-memcg/results/kit.session15-thpfb.txt), which are the 21 start-up pages, the array's
    /// st1 and st2, <c>outn</c>'s bss63, <c>reg</c>'s bss127 and the signal frame's st0
    /// (oracle/experiments/stack-top/results/session16.txt's A1 slots); swpout_zero +187 in swap-anon-read and
    /// swap-anon-write (oracle/experiments/swap-cache-residue/results/zero-pages.txt). The pages phase_end later fills
    /// with text (<c>buf</c>'s first pages) are written by the trace's stores, which clear the mark. Default since
    /// session 32 (oracle/experiments/pswp-harness/results/session32.txt: with it the fill's phase_end windows read the
    /// kernel's data pages, where the stand-in read st1, st2 and <c>outn</c>'s page as zeros). What-ifs:
    /// <c>ECSMEM_ORACLE_ZERO_RUNS=0</c>, the stand-in until then (the array's top <see cref="StackArrayOverwritten"/>
    /// pages hold data, every bss page but <c>reg</c>'s is zero), and with it <c>ECSMEM_ORACLE_OUTN_DATA=1</c>
    /// (<see cref="OutnHoldsData"/>), <c>outn</c>'s page holding data.
    /// </summary>
    public (long First, long Count)[] ZeroRuns
    {
        get
        {
            long stack = Pages - WarmUpStackPages - BssPages, bss = Pages - BssPages;
            if (OracleEnv.Flag("ECSMEM_ORACLE_ZERO_RUNS", unset: true))
                return [(stack + SignalFramePages, WarmUpStackPages - SignalFramePages), (bss, OutnPage), (bss + OutnPage + 1, BssPages - OutnPage - 2)];
            if (OutnHoldsData)
                return [(stack, WarmUpStackPages - StackArrayOverwritten), (bss, OutnPage), (bss + OutnPage + 1, BssPages - OutnPage - 2)];
            return [(stack, WarmUpStackPages - StackArrayOverwritten), (bss, BssPages - 1)];
        }
    }

    /// <summary>
    /// What-if <c>ECSMEM_ORACLE_OUTN_DATA=1</c> (under <c>ECSMEM_ORACLE_ZERO_RUNS=0</c>; the default zero set, <see cref="ZeroRuns"/>,
    /// has it since session 32): <c>outn</c>'s page (bss 63: the tail of <c>buf</c>, <c>outn</c> and the head of
    /// <c>out</c>) holds data when the fill swaps it out, so it is not zero-filled (186 zero pages). Measured on Linux 6.18: the
    /// fill writes its slot 85 to the swap device in every run (oracle/experiments/thp-swap-memcg/results/kit.session15-thpfb.txt,
    /// "W slot 85"; slot 85 is bss 63 by oracle/experiments/stack-top/results/session16.txt's A1 slots) and the fill's
    /// phase_end reads it back with a bio (oracle/experiments/harness-stores/results/session19-bios.txt: "bss63 R [85]").
    /// Session 23: with it swap-fork-shared's read agrees again (kit 68 of 76 either way, 18 differing figures against 27), but
    /// swap-anon-write's write pass then rewrites cluster 0's holes 3, 8 and 149–152 a second time, which the kernel's 3
    /// recorded runs do not (tests/Ecs.Mem.Tests/Oracle/PhaseEndSlotsTests.cs). Session 32: with the measured zero set as the
    /// default that test agrees, but it runs the generated scenario alone; the kit's full run (<see cref="SimulationRun"/>,
    /// with or without its previous-run pass) rewrites those holes a second time, its write pass's frees and a cluster's
    /// end falling otherwise (Linux 6.18's cluster allocator, replayed on EcsMem's frees and allocations, takes the same
    /// slots: oracle/experiments/pswp-harness/results/session32.txt, section 6).
    /// </summary>
    public static bool OutnHoldsData => OracleEnv.Flag("ECSMEM_ORACLE_OUTN_DATA", unset: false);

    /// <summary>
    /// The lowest pages of the stack array's place that hold data when the fill swaps them out: warm_up's callees' frames
    /// and the signal frame of its <c>raise(SIGBUS)</c> lie below its array. Measured on Linux 6.18: of the harness's
    /// swap slots the fill writes 1–23, 85 and 212–213 (oracle/experiments/thp-swap-memcg/results/kit.session15-thpfb.txt),
    /// which are the 21 start-up pages, <c>[stack]</c> pages 1 and 2, <c>outn</c>'s bss page 63, <c>reg</c>'s and
    /// <c>[stack]</c> page 0 (oracle/experiments/stack-top/results/session16.txt): <c>[stack]</c> 3–63 and the bss's other
    /// 126 pages are zero-filled, the 187 zero pages measured.
    /// </summary>
    public const long SignalFramePages = 3;

    /// <summary>
    /// Whether the stack array's lowest page is written last, after <c>reg</c>'s (the signal frame of warm_up's
    /// <c>raise(SIGBUS)</c>, the last page warm_up faults in: slot 213 on Linux, oracle/experiments/stack-top), so that
    /// <c>buf</c>'s and <c>outn</c>'s pages take the kernel's slots (149–152 and 85, oracle/experiments/harness-stores).
    /// The default since session 22: with it each swap program's pass starts with the kernel's swap-in windows (the
    /// fill's phase_end leaves swapin_nr_pages' statics as the kernel's: thp-swpout's write 1, 1, 2, 4 pages, then 8;
    /// swap-anon-write's 1, 1, 2, 2, 4; oracle/experiments/pswp-harness), where the array in address order gave thp-swpout
    /// 2, 2, 4 (one major fault fewer). <c>ECSMEM_ORACLE_SIGFRAME=0</c>: the array in address order (the what-if).
    /// The zero-filled pages are the measured ones (<see cref="ZeroRuns"/>, since session 32): the signal frame's page holds data.
    /// </summary>
    public static bool SignalFrameLast => OracleEnv.Flag("ECSMEM_ORACLE_SIGFRAME", unset: true);

    /// <summary>
    /// Under <c>ECSMEM_ORACLE_ZERO_RUNS=0</c> (the stand-in before session 32): the top pages of <c>warm_up</c>'s stack array
    /// taken to hold data when the fill swaps them out (the frames of the calls main makes after it reusing them). The
    /// kernel's fill writes the array's lowest 3 instead (<see cref="ZeroRuns"/>).
    /// </summary>
    public const long StackArrayOverwritten = 4;

    /// <summary>Where <c>buf</c> starts: gcc puts it this many bytes before the end of the program's .data page.</summary>
    public const long BufHeadBytes = 3584;

    /// <summary>
    /// The page indices <c>buf[0, bytes)</c> spans (<paramref name="bytes"/> at most <c>sizeof buf</c>): the tail of the
    /// .data page (<see cref="DataPage"/>, when the footprint has it), then bss pages from 0 (a whole <c>buf</c>: bss 0–62
    /// and the head of 63). The pages do_pwrite's copy_from_user reads and do_pread's copy_to_user writes.
    /// </summary>
    public long[] BufPages(long bytes)
    {
        long n = Math.Min(bytes, BssPages / 2 * ProgramPlan.PageSize);
        long startup = Pages - WarmUpStackPages - BssPages, bss = Pages - BssPages;
        var pages = new List<long>();
        if (startup > DataPage && n > 0)
            pages.Add(DataPage);
        for (long i = 0; i * ProgramPlan.PageSize < n - BufHeadBytes; i++)
            pages.Add(bss + i);
        return pages.ToArray();
    }

    /// <summary>
    /// The files phase_end opens under a memcg (harness.h: slurp and pairs): /proc/self/smaps and smaps_rollup, and the
    /// group's memory.stat, memory.oom_control, memory.failcnt and memory.max_usage_in_bytes (the scenario's group path
    /// for $ORACLE_MEMCG; /proc/meminfo is the machine's, looked up since boot). The kernel charges their dentries and
    /// inodes at the first phase_end: 3 proc inodes (the /proc/PID directory, smaps, smaps_rollup), 4 kernfs inodes
    /// and 7 dentries (oracle/experiments/kmem, whose patched harness reads 3 more cgroup files and /proc/self/status:
    /// 4 proc_inode_cache, 7 inode_cache, 11 dentry).
    /// </summary>
    public static readonly string[] ReadPaths =
    [
        "/proc/self/smaps", "/proc/self/smaps_rollup", "/sys/fs/cgroup/memory/oracle/memory.stat",
        "/sys/fs/cgroup/memory/oracle/memory.oom_control", "/sys/fs/cgroup/memory/oracle/memory.failcnt",
        "/sys/fs/cgroup/memory/oracle/memory.max_usage_in_bytes",
    ];

    /// <summary>
    /// Every file phase_end reads, in its order (harness.h's phase_end: vmas' smaps, smaps_rollup, memory.stat,
    /// memory.oom_control, memory.failcnt, memory.max_usage_in_bytes, /proc/meminfo, and a swap program's /proc/vmstat),
    /// each opened, read and closed before the next (oracle/experiments/phase-end-charge's traces: 8 openat calls a
    /// phase_end in swap-anon-read).
    /// </summary>
    public static string[] PhaseEndPaths(bool swap) =>
        swap ? [.. ReadPaths, "/proc/meminfo", "/proc/vmstat"] : [.. ReadPaths, "/proc/meminfo"];

    /// <summary>
    /// <c>ECSMEM_ORACLE_PHASE_END_READS</c> (default 1 since session 25): every phase_end opens and closes its files
    /// (<see cref="PhaseEndPaths"/>), each open holding its seq_file's accounted objects (filp, seq_file, private data,
    /// the 4 KiB buffer) charged to the group until its close, which makes a group at its limit reclaim
    /// (MemcgController.SeqFileOpen; oracle/experiments/phase-end-charge); 0: only the first phase_end's
    /// <see cref="ReadPaths"/> (the names its reads look up; their seq_files are charged too). The kit's figures are the
    /// same either way (session 25): the later phase_ends' reads found room or a reclaim already made.
    /// </summary>
    public static bool PhaseEndReads => OracleEnv.Flag("ECSMEM_ORACLE_PHASE_END_READS", unset: true);

    /// <summary>The address of harness page <paramref name="i"/> in the real process's layout (<see cref="HarnessLayout"/>).</summary>
    public ulong PageAddr(long i) => Layout.Addr[i];

    /// <summary>The harness's anonymous VMAs and where each page sits in them (<see cref="HarnessLayout"/>).</summary>
    public HarnessLayout Layout => _layout ??= HarnessLayout.Of(this);

    private HarnessLayout? _layout;

    /// <summary>
    /// The page indices the parent writes right after a fork: first <see cref="ForkReturnPages"/> (glibc's fork), then
    /// <c>fork_settle</c>'s (harness.h, called after <c>do_fork</c> and <c>do_fork_touch</c>), in order: its <c>volatile char stack[64 &lt;&lt; 10]</c>, one store per 4 KiB from the
    /// lowest, on the 16 pages from main's frame down (the top 14 of <c>warm_up</c>'s array, the third and the second
    /// stack page: where getrusage's <c>u</c> is), then the .data page (<c>sink = sink</c> and <c>min0 +=</c>; gcc drops
    /// its other <c>x = x</c>, so <c>reg</c>'s and <c>outn</c>'s pages are not written). Measured on Linux 6.18 with
    /// oracle/experiments/harness-resident (fork.c: after fork_settle the parent's [stack] pages 49-65 and its .data page
    /// are exclusively mapped, bss 63 and 127 still shared with the child). After a fork each is a copy-on-write fault
    /// of the parent (a swap-in first when the page is swapped out), which the C program subtracts from the phase.
    /// </summary>
    public long[] ForkSettle
    {
        get
        {
            long startup = Pages - WarmUpStackPages - BssPages;
            var pages = new List<long>();
            // glibc's fork in the parent, before fork_settle: the copies the parent has made when fork() returns.
            foreach (long i in ForkReturnPages)
                if (i < startup)
                    pages.Add(i);
            for (long j = WarmUpStackPages - (ForkSettleStackPages - 2); j < WarmUpStackPages; j++)
                pages.Add(startup + j);
            foreach (long i in (long[])[ThirdStackPage, MainStackPage, DataPage])
                if (i < startup)
                    pages.Add(i);
            return [.. pages];
        }
    }

    /// <summary>
    /// The pages phase_end only reads (its other pages it writes): libc's 6 (<c>emit</c>'s calls: 2 RELRO pages,
    /// read-only, 2 of its rw segment and 2 of its bss), ld.so's RELRO page and the program's (the first phase_end's
    /// lazy binding; read-only mappings) and <c>reg</c>'s (in_regions). Measured on Linux 6.18 with
    /// oracle/experiments/harness-resident (fork.c): after a fork phase's phase_end the parent's copies of these pages
    /// are still shared with the child (pagemap's exclusive bit clear) where <c>buf</c>'s and <c>out</c>'s pages, the
    /// written ones, are its own; oracle/experiments/harness-dirty confirms it by /proc/vmstat's pswpout (every harness
    /// page paged out, one later phase boundary run, each page it faulted back paged out again: 12–13 written, 7 only read:
    /// libc's 6 and <c>reg</c>'s). The scenario loads from them (a swapped-in page keeps its slot, do_swap_page frees it on a
    /// write fault only), the default since session 17.
    /// </summary>
    public bool PhaseEndLoads(long i) =>
        i >= 4 && i <= 9 && i < Pages - WarmUpStackPages - BssPages
        || i is 13 or 14 && i < Pages - WarmUpStackPages - BssPages
        || MeasuredFirstAccesses && i is LdsoRwPage1 or LdsoScratchPage && i < Pages - WarmUpStackPages - BssPages
        || i == Pages - 1;

    /// <summary>
    /// Whether phase_end's first access to page <paramref name="i"/> before the smaps read (<see cref="BeforeSnapshot"/>) is
    /// a load though it stores to the page later: <c>outn</c>'s page (emit reads <c>outn</c>, then vsnprintf writes the
    /// record into <c>out</c> behind it) and the TLS page of struct pthread (vsnprintf's load of the thread's locale
    /// pointer; vmas' sscanf stores into it later, <see cref="BetweenPhases"/>). A swap-in by a load keeps the page's slot
    /// (do_swap_page's should_try_to_free_swap frees it on a write fault only) and maps the page writable when it is
    /// exclusive, so the later stores make it dirty without a fault. Measured on Linux 6.18 with
    /// oracle/experiments/harness-stores (the page-fault tracepoints' error codes in every phase_end of the 15 memcg
    /// programs): both read faults (error code 0x4) in every phase_end where they were swapped out.
    /// </summary>
    public bool LoadsFirst(long i) =>
        MeasuredFirstAccesses && (i == Pages - BssPages + OutnPage || i == TlsPage && i < Pages - WarmUpStackPages - BssPages);

    /// <summary>
    /// Whether this footprint's phase_end follows the load/store split measured by oracle/experiments/harness-stores
    /// (<see cref="PhaseEndLoadsFirst"/>, the default); otherwise it stores first to <see cref="LdsoRwPage1"/>,
    /// <see cref="LdsoScratchPage"/>, <c>outn</c>'s page and <see cref="TlsPage"/> (session 17's model, the what-if).
    /// </summary>
    public bool MeasuredFirstAccesses { get; init; }

    /// <summary>
    /// phase_end's first accesses as measured on Linux 6.18 (<see cref="LoadsFirst"/>, and <see cref="LdsoRwPage1"/> and
    /// <see cref="LdsoScratchPage"/> only loaded: oracle/experiments/harness-stores), with the record stored into <c>out</c>'s
    /// later pages phase by phase (<see cref="RecordHead"/>, <see cref="RecordGrowth"/>). The default since session 23: a
    /// load keeps a swapped-in page's slot (do_swap_page frees it on a write fault only), so after the fill's phase_end
    /// ld.so's rw page 1's and the scratch page's slots stay allocated beside the .data page's, as the kernel's, and the
    /// .data page's swap-in after the write pass reads the kernel's 6-page window (swap-anon-write's write pswpin 8,221,
    /// kernel 8,220–8,236; swap-anon-read and thp-swpout-fallback agree too: 68 of 76, none out, against session 22's quiet
    /// fixtures; oracle/experiments/pswp-harness, "Session 23"). The what-if <c>ECSMEM_ORACLE_PHASE_END_LOADS=0</c> is
    /// session 17's model: phase_end stores first to <see cref="LdsoRwPage1"/>, <see cref="LdsoScratchPage"/>, <c>outn</c>'s
    /// page and <see cref="TlsPage"/>, which frees their slots at the fill's phase_end (the .data page's window 1).
    /// </summary>
    public static bool PhaseEndLoadsFirst => OracleEnv.Flag("ECSMEM_ORACLE_PHASE_END_LOADS", unset: true);

    /// <summary>
    /// Each access of <paramref name="pages"/> (a phase_end list: <see cref="BeforeSnapshot"/> with <paramref name="loadsFirst"/>,
    /// <see cref="BetweenPhases"/>) and whether it stores: <see cref="PhaseEndLoads"/>' pages are loaded, and with
    /// <paramref name="loadsFirst"/> the first access to each of <see cref="LoadsFirst"/>'s pages.
    /// </summary>
    public (long Page, bool Store)[] PhaseEndAccesses(long[] pages, bool loadsFirst)
    {
        var a = new (long, bool)[pages.Length];
        for (int k = 0; k < pages.Length; k++)
        {
            long i = pages[k];
            bool firstLoad = loadsFirst && LoadsFirst(i) && Array.IndexOf(pages, i) == k;
            a[k] = (i, !PhaseEndLoads(i) && !firstLoad);
        }
        return a;
    }

    /// <summary>The start-up page standing for the TLS page of struct pthread (0x7ffff7dd0000: emit's first TLS page).</summary>
    public const long TlsPage = 2;

    /// <summary>
    /// The start-up page standing for ld.so's second rw page (0x7ffff7ffe000, <c>_rtld_global</c>'s): the first phase_end's
    /// lazy binding loads from it (_dl_fixup+16) and does not store to it; exit's _dl_fini does (after a fork, a
    /// copy-on-write fault there).
    /// </summary>
    public const long LdsoRwPage1 = 11;

    /// <summary>
    /// The start-up page standing for ld.so's scratch page (0x7ffff7fc0000, where ld.so keeps the program's link_map):
    /// _dl_fixup loads from it (_dl_fixup+173); only exit's _dl_fini stores to it. ld.so's other rw page (12, 0x7ffff7ffd000)
    /// is the binding's one store (_dl_lookup_symbol_x's count of relocations).
    /// </summary>
    public const long LdsoScratchPage = 15;

    /// <summary>
    /// The start-up pages the parent stores to when fork() returns in it, in order: the rseq TLS page (rseq's put_user of
    /// rseq_cs on its way back to user space), the top stack page (glibc's fork's frames) and the .data page (<c>fork_pipe</c>,
    /// <c>child_pid</c>). Measured on Linux 6.18 with oracle/experiments/harness-stores (<c>FORK=1</c>, the page-fault
    /// tracepoints of parent and child, 3 runs of swap-fork-shared, results/fork-child.txt and session19.txt): these three
    /// write faults in every run (the rseq store after the other two when the child ran first), no store to the other TLS
    /// page (the parent's comes in the fork phase's phase_end) nor to ld.so's rw pages. The other pages each task maps a copy
    /// of after the fork (oracle/experiments/harness-resident, pagemap's exclusive bit) are the child's stores
    /// (<see cref="ForkChildStores"/>). With <see cref="ForkChildRuns"/> off (the session-18 model, whose child never runs)
    /// the parent makes the child's stores too: the top stack page, both TLS pages, ld.so's two rw pages and .data.
    /// </summary>
    public static long[] ForkReturnPages => ForkChildRuns ? [RseqPage, TopStackPage, DataPage] : [TopStackPage, TlsPage, RseqPage, LdsoRwPage1, LdsoRwPage0, DataPage];

    /// <summary>The start-up page standing for ld.so's first rw page (0x7ffff7ffd000: the lazy binding's relocation count).</summary>
    public const long LdsoRwPage0 = 12;

    /// <summary>
    /// Whether the kit's fork child runs glibc's fork return (<see cref="ForkChildStores"/>) and then sleeps holding its copy,
    /// as the C child blocked in read(2) on the pipe does (the default); <c>ECSMEM_ORACLE_FORK_CHILD=0</c>: the session-18
    /// model, a child that never runs while the parent makes its stores (<see cref="ForkReturnPages"/>).
    /// </summary>
    public static bool ForkChildRuns => OracleEnv.Flag("ECSMEM_ORACLE_FORK_CHILD", unset: true);

    /// <summary>
    /// The addresses the fork's child stores to when it first runs, in the order Linux 6.18 faulted them in each of 3 runs
    /// of swap-fork-shared (oracle/experiments/harness-stores, <c>FORK=1</c>; the child ran 0.1–3 ms after the fork, before
    /// the read pass's first fault or inside fork_settle): schedule_tail's put_user of its tid into struct pthread (the TLS
    /// page, 0x7ffff7dd0a10), rseq's put_user of rseq_cs (the rseq TLS page), then glibc's fork in the child: a store to a
    /// page of libc's bss nobody had touched (0x7ffff7faca88: a new page, <see cref="HarnessLayout.ChildOnlyPage"/>), to
    /// ld.so's rw page 0 and 1 (0x7ffff7ffda48, 0x7ffff7ffe0e0) and the top stack page (0x7fffffffeb58); then it blocks in
    /// read(2) until the parent's finish() closes the pipe. Every store but the new page's is a write fault on a page
    /// fork left write-protected: the task that stores second finds the page its alone and reuses it
    /// (wp_can_reuse_anon_folio), dropping its swap slot if it is a swap-cache page (folio_free_swap): how the kernel frees
    /// the two TLS pages' slots at the fork. Pages the footprint does not have are left out.
    /// </summary>
    public ulong[] ForkChildStores
    {
        get
        {
            long startup = Pages - WarmUpStackPages - BssPages;
            var a = new List<ulong>();
            foreach (long i in (long[])[TlsPage, RseqPage])
                if (i < startup)
                    a.Add(PageAddr(i));
            if (startup > 0)
                a.Add(Layout.ChildOnlyPage);
            foreach (long i in (long[])[LdsoRwPage0, LdsoRwPage1, TopStackPage])
                if (i < startup)
                    a.Add(PageAddr(i));
            return [.. a];
        }
    }

    /// <summary>The pages <c>fork_settle</c>'s 64 KiB stack array stores to (one store per 4 KiB).</summary>
    public const long ForkSettleStackPages = (64 << 10) / ProgramPlan.PageSize;

    /// <summary>The start-up page standing for the third stack page below the top (the "deeper" role's, <see cref="HarnessLayout"/>).</summary>
    public const long ThirdStackPage = 16;

    /// <summary>
    /// The memory group's cgroup v1 pgpgin and pgpgout events before the program's main() that the scenario does not
    /// run: record.sh's sh moves itself into the fresh group and execs env, which execs setarch, which execs the program,
    /// and each exec frees the old image's pages (charged in the group after the move): 55 pages charged and uncharged.
    /// Measured on Linux 6.18 with oracle/experiments/pgpg-start (10 runs of the harness's probe, run as record.sh runs
    /// a memcg program; memory.stat after the periodic flush: pgpgout 53–56, median 55, at main's entry and after
    /// warm_up alike, and pgpgin = pgpgout + the resident pages). The page-cache pages charged before main (the probe's
    /// 5–6, the kit programs' 0–5 at their first phase_end: cache in memory.stat) are not counted. Only for a fixture
    /// recorded before session 22: since then the runs read memory.stat at main's entry and each run's own chain
    /// (51–54) is taken out of the kernel's figures instead (<see cref="Fixtures.PgpgExecOf"/>).
    /// </summary>
    public const long ExecChainPgpg = 55;

    /// <summary>
    /// The page tables (below the PGD) of the address spaces record.sh's exec chain drops in the group (env's and setarch's,
    /// and what sh faulted after joining it): each exec's exec_mmap → mmput → exit_mmap → free_pgtables hands them to
    /// tlb_remove_table, which on x86-64 (MMU_GATHER_RCU_TABLE_FREE) frees them, and uncharges them, only after an RCU grace
    /// period (tlb_remove_table_rcu). Measured on 6.18: 23–29 pages, median 26, in 52 traced runs of the 15 memcg programs
    /// (oracle/experiments/exec-chain-gp); memcg-oom-kill's 40-run fixture gives 27 by hand: its child's pgpgin over the
    /// phase has the median 3,813, EcsMem's 3,840 without them (oracle/experiments/oom-kill-state: kmem 65–72 pages at the
    /// kill against 41–43 in runs slow enough for the grace period to end first, EcsMem's 42).
    /// </summary>
    public const int ExecChainPendingTables = 27;

    /// <summary>
    /// When the kernel frees <see cref="ExecChainPendingTables"/>: 18.2 ms after the program's exec, the median of 52 traced
    /// runs (7.6–26.4 ms; at HZ = 250 the 4th to 7th tick after the exec, most often the 5th: the tick that starts the
    /// grace period, the ticks at which each CPU notes it and reports its quiescent state, the one that invokes the
    /// callback). oracle/experiments/exec-chain-gp.
    /// </summary>
    public const double ExecChainGracePeriodMs = 18.2;

    /// <summary>
    /// memcg-oom-kill's OOM kill on the recording machine, ms after the exec: 15.0 and 17.2 in session 22's two traced
    /// runs that kept the chain's pages to the kill (oracle/experiments/oom-kill-state, pages-kill.pages.2/3.txt).
    /// </summary>
    public const double KernelOomKillMs = 16.1;

    /// <summary>EcsMem's memcg-oom-kill OOM kill, ms of simulated time after the start (OracleKitTests checks it stays so).</summary>
    public const double SimulatedOomKillMs = 1.905;

    /// <summary>
    /// <see cref="ExecChainGracePeriodMs"/> in EcsMem's clock. EcsMem runs the kit's programs faster than the recording
    /// machine (a VM whose faults cost several microseconds: memcg-oom-kill's child takes ~8.5x longer there), so the
    /// kernel's 18.2 ms, taken as simulated time, would keep the pages charged through far more of a program's work than
    /// the kernel does. The grace period is mapped by the ratio of the two machines' times to the one event it is about,
    /// memcg-oom-kill's kill: 18.2 × 1.905 / 16.1 = 2.15 ms, so the kill comes at the same point of the grace period as on
    /// the kernel (the callback runs 13 % after it in both). One ratio for all programs: the kernel's other programs take
    /// 3–36x EcsMem's time per phase (exec-chain-gp's getrusage times), so elsewhere the release lands earlier or later in
    /// their work than the kernel's does (README there).
    /// </summary>
    public static ulong ExecChainGracePeriodCycles(double clockGHz) =>
        (ulong)Math.Round(ExecChainGracePeriodMs * SimulatedOomKillMs / KernelOomKillMs * clockGHz * 1e6);

    /// <summary>
    /// Where in each memcg program's own run the kernel frees <see cref="ExecChainPendingTables"/>: the phase and the fraction
    /// of that phase's time (its phase_start to its phase_end getrusage) at the burst, the median run of session 23's traced
    /// runs by position (oracle/experiments/exec-chain-gp/align.py, results/session24.align.txt). The burst falls in the
    /// first charging phase of the fill and write programs (4–49 % of its time in 28 of their 30 runs), at the end of the swappiness programs' anon phase
    /// or the start of file1, at the start of ra-reread-memcg's pass1. memcg-oom-kill is not listed: its loaded traced runs
    /// killed late, so it keeps the clock mapped by its own kill (<see cref="ExecChainGracePeriodCycles"/>).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, (string Phase, double Fraction)> ExecChainFreeAt =
        new Dictionary<string, (string Phase, double Fraction)>(StringComparer.Ordinal)
        {
            ["file-write-memcg"] = ("write", 0.042),
            ["memfd-swap-memcg"] = ("write", 0.209),
            ["ra-reread-memcg"] = ("pass1", 0.025),
            ["shmem-swap-memcg"] = ("fill", 0.265),
            ["swap-anon-read"] = ("fill", 0.205),
            ["swap-anon-write"] = ("fill", 0.151),
            ["swap-fork-shared"] = ("fill", 0.374),
            ["swappiness-0"] = ("anon", 0.943),
            ["swappiness-200"] = ("anon", 0.922),
            ["swappiness-60"] = ("file1", 0.070),
            ["thp-deferred-split-memcg"] = ("fill", 0.494),
            ["thp-swpout"] = ("fill", 0.088),
            ["thp-swpout-fallback"] = ("fill", 0.096),
            ["tmpfs-swap-memcg"] = ("write", 0.377),
        };

    /// <summary>
    /// The free aligned by the program's progress: the cycles from <paramref name="now"/> to <paramref name="fraction"/> of
    /// EcsMem's phase from <paramref name="phaseStart"/> to <paramref name="phaseEnd"/> (cycles), at once when that point
    /// is already past.
    /// </summary>
    public static ulong ExecChainAlignedCycles(ulong now, ulong phaseStart, ulong phaseEnd, double fraction)
    {
        ulong at = phaseStart + (ulong)Math.Round((phaseEnd - phaseStart) * fraction);
        return at > now ? at - now : 0;
    }

    /// <summary>
    /// <c>ECSMEM_ORACLE_EXEC_CHAIN_ALIGN</c> (default 1, used only with <see cref="ExecChainTables"/>): free the chain's
    /// tables at <see cref="ExecChainFreeAt"/>'s point of EcsMem's own run of the program (its phase times taken from a
    /// pilot run without them); 0: session 23's one clock ratio for every program.
    /// </summary>
    public static bool ExecChainAlign => OracleEnv.Flag("ECSMEM_ORACLE_EXEC_CHAIN_ALIGN", unset: true);

    /// <summary>
    /// num_online_cpus() of the machine that records the fixtures (nproc 2): memcg_vmstats_needs_flush's threshold is
    /// MEMCG_CHARGE_BATCH × 2 = 128 updates there, while the kit runs its programs on one simulated CPU.
    /// </summary>
    public const int RecordingCpus = 2;

    /// <summary>
    /// <c>ECSMEM_ORACLE_EXEC_CHAIN_TABLES</c> (default 1 since session 25): <see cref="ExecChainPendingTables"/> charged to the
    /// program's group at its start and uncharged by an RCU callback at <see cref="ExecChainFreeAt"/>'s point of the
    /// program's run (<see cref="ExecChainAlign"/>), else <see cref="ExecChainGracePeriodCycles"/> later (Kernel.Rcu); 0:
    /// never charged (before session 25). With the phase_end reads' kernel objects (<see cref="PhaseEndReads"/>) the kit
    /// agrees on 70 of 76 with it (memcg-oom-kill and tmpfs-swap-memcg in, swap-anon-write's write pswpin 2 short) and 69
    /// without (session 25, chainfill; oracle/known-gaps.md).
    /// </summary>
    public static bool ExecChainTables => OracleEnv.Flag("ECSMEM_ORACLE_EXEC_CHAIN_TABLES", unset: true);

    /// <summary>Where <c>out</c> starts in <see cref="OutnPage"/> (gcc puts <c>outn</c> 32 bytes before it, 0x340 into the page).</summary>
    public const long OutHeadBytes = 0x340;

    /// <summary>
    /// The bytes each phase_end appends to the record in <c>out</c> (emit: the phase's header, its VMAs, smaps_rollup,
    /// the group's memory.stat, memcg and meminfo lines). Measured on Linux 6.18 (oracle/experiments/swap-ra-exit: the
    /// memcg programs' JSON records: 3,406 bytes over 2 phases for tmpfs-swap-memcg, 5,078 over 3 for memfd-swap-memcg,
    /// 6,780 over 4 for thp-deferred-split-memcg). The one-size model (<see cref="SmapsBufPages"/>); by default
    /// <see cref="RecordStart"/> takes the measured head and records (1,427–1,892 bytes a phase, <see cref="MeasuredLengths"/>).
    /// </summary>
    public const long RecordBytesPerPhase = 1700;

    /// <summary>
    /// The measured lengths of oracle/harness-lengths.tsv (<see cref="Lengths"/>: per program and phase, the bss pages the
    /// smaps slurp writes and where each record starts in <c>out</c>) instead of <see cref="SmapsBufPages"/> and
    /// <see cref="OutHeadBytes"/> + <see cref="RecordBytesPerPhase"/> a phase: the default since session 24 (kit 69 of 76
    /// against 68: swappiness-200 agrees, its smaps, 19,844 bytes, reaches <c>buf</c>'s bss page 4; no program goes out);
    /// <c>ECSMEM_ORACLE_HARNESS_LENGTHS=0</c> keeps the one-size model. A program the table lacks keeps it too.
    /// </summary>
    public static bool MeasuredLengths => OracleEnv.Flag("ECSMEM_ORACLE_HARNESS_LENGTHS", unset: true);

    /// <summary>The program's measured lengths (<see cref="MeasuredLengths"/>), null for the one-size model.</summary>
    public HarnessLengths? Lengths { get; init; }

    /// <summary>
    /// Where phase_end <paramref name="phase"/>'s (1-based) share of the record starts, in bytes from <see cref="OutnPage"/>'s
    /// start (phase <c>n + 1</c>: the n-th share's end): measured (<see cref="Lengths"/>) or <see cref="OutHeadBytes"/> +
    /// <see cref="RecordBytesPerPhase"/> a phase before it.
    /// </summary>
    public long RecordStart(int phase) =>
        Lengths is { } l ? l.RecordStart(phase) : OutHeadBytes + ((phase - 1) * RecordBytesPerPhase);

    /// <summary>The pages phase_end's reads write before <c>buf</c>'s (the deeper stack page).</summary>
    public long[] BetweenHead { get; init; } = [];

    /// <summary>The pages phase_end's reads write after <c>buf</c>'s (the TLS page, <c>reg</c>'s).</summary>
    public long[] BetweenTail { get; init; } = [];

    /// <summary>
    /// <see cref="BetweenPhases"/> of phase_end <paramref name="phase"/> (1-based): with <see cref="Lengths"/>, the bss pages
    /// its smaps slurp writes (<see cref="HarnessLengths.SmapsBufPages"/>) instead of <see cref="SmapsBufPages"/>.
    /// </summary>
    public long[] BetweenPhasesAfter(int phase)
    {
        if (Lengths is not { } l && (phase != 1 || FirstBindingLate.Length == 0))
            return BetweenPhases;
        long bss = Pages - BssPages, n = Lengths is { } m ? m.SmapsBufPages(phase) : SmapsBufPages;
        var pages = new List<long>(BetweenHead);
        for (long i = 0; i < n; i++)
            pages.Add(bss + i);
        if (phase == 1)
            pages.AddRange(FirstBindingLate);
        pages.AddRange(BetweenTail);
        return [.. pages];
    }

    /// <summary>
    /// The binding role's pages a swap program's first phase_end touches after its smaps read (<see cref="BindingAfterSmaps"/>),
    /// in <see cref="BindingOrder"/>; empty otherwise (the binding comes before the smaps read, in <see cref="FirstBeforeSnapshot"/>).
    /// </summary>
    public long[] FirstBindingLate { get; init; } = [];

    /// <summary>
    /// The lazy binding's pages in the order Linux 6.18 faulted them in the first phase_end of memfd-swap-memcg (10 of 10 runs,
    /// oracle/experiments/swap-ra-state): the program's RELRO page with its GOT (14), ld.so's RELRO page (13), its rw page 1
    /// (11), its scratch page (15), its rw page 0 (12); exit's _dl_fini takes them in the same order (<see cref="ExitPages"/>).
    /// </summary>
    public static readonly long[] BindingOrder = [14, 13, LdsoRwPage1, LdsoScratchPage, LdsoRwPage0];

    /// <summary>
    /// What-if <c>ECSMEM_ORACLE_BINDING_AFTER_SMAPS=1</c>: a swap program's first phase_end binds after its smaps read. Measured
    /// on Linux 6.18 (oracle/experiments/swap-ra-state: the swap-readahead statics after every fault): memfd-swap-memcg's first
    /// phase_end swaps in emit's pages, then <c>buf</c>'s four (smaps), then <see cref="BindingOrder"/>'s, in 10 of 10 runs:
    /// swap_counts, read before the first phase, bound open, read and sscanf, so the first new symbols are vmas'.
    /// </summary>
    public static bool BindingAfterSmaps => OracleEnv.Flag("ECSMEM_ORACLE_BINDING_AFTER_SMAPS", unset: false);

    private static readonly Dictionary<string, (string Path, IReadOnlyDictionary<string, HarnessLengths>? All)> LengthsByDir = new(StringComparer.Ordinal);

    /// <summary>
    /// The measured lengths of <paramref name="p"/> (oracle/harness-lengths.tsv beside its programs folder), null when the
    /// file or the program is not in it (not measured yet: the one-size model); an
    /// <see cref="EcsMem.Diagnostics.InputException"/> for a bad line or phases other than the program's.
    /// </summary>
    public static HarnessLengths? LengthsOf(PhaseProgram p)
    {
        string dir = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(p.SourcePath))!)!;
        (string Path, IReadOnlyDictionary<string, HarnessLengths>? All) table;
        lock (LengthsByDir)
        {
            if (!LengthsByDir.TryGetValue(dir, out table))
            {
                string path = Path.Combine(dir, HarnessLengths.FileName);
                table = (path, File.Exists(path) ? HarnessLengths.Load(path) : null);
                LengthsByDir[dir] = table;
            }
        }
        return table.All is null ? null : HarnessLengths.For(p, table.All, table.Path);
    }

    /// <summary>
    /// The <c>out</c> pages past <see cref="OutnPage"/> (which every phase_end writes first) that the last of
    /// <paramref name="phases"/> phase_ends' share of the record reaches: written after its smaps read, so outside every
    /// measured window; on Linux the first store to such a page swaps it in (it was zero-filled by warm_up and swapped
    /// out), the last swap-in before the exit (tmpfs-swap-memcg: 0x555555599000, <c>out</c>'s second page, a window of 8).
    /// </summary>
    public long[] RecordTail(int phases)
    {
        long bss = Pages - BssPages;
        long from = RecordStart(phases) / ProgramPlan.PageSize;
        long to = (RecordStart(phases + 1) - 1) / ProgramPlan.PageSize;
        var pages = new List<long>();
        for (long i = Math.Max(from, 1); i <= to && OutnPage + i < BssPages - 1; i++)
            pages.Add(bss + OutnPage + i);
        return [.. pages];
    }

    /// <summary>
    /// The <c>out</c> page past <see cref="OutnPage"/> that phase_end <paramref name="phase"/> (1-based) stores to first,
    /// before its smaps read, as an array of none or one: the page holding <c>out + outn</c> when the phase_end starts, where
    /// vsnprintf writes the phase's header (emit). Measured on Linux 6.18 with oracle/experiments/harness-stores (the
    /// page-fault tracepoints' error codes and, with BIO=1, the swap reads they queue): from the third phase_end on
    /// (<see cref="RecordBytesPerPhase"/>: the record then starts in <c>out</c>'s second page) a not-present write fault
    /// there in <c>pre</c>, right after libc's bss page 0, in memfd-swap-memcg's read and shmem-swap-memcg's write
    /// phase_end, a swap-in of the page the previous pass wrote to a new slot. Only with the measured first accesses
    /// (<see cref="MeasuredFirstAccesses"/>).
    /// </summary>
    public long[] RecordHead(int phase)
    {
        long i = RecordStart(phase) / ProgramPlan.PageSize;
        return MeasuredFirstAccesses && phase > 1 && i >= 1 && OutnPage + i < BssPages - 1 ? [Pages - BssPages + OutnPage + i] : [];
    }

    /// <summary>
    /// The <c>out</c> pages phase_end <paramref name="phase"/> (1-based, not the last: <see cref="RecordTail"/> has the
    /// last one's) grows the record into after its smaps read: those whose first byte its share of the record reaches.
    /// Measured on Linux 6.18 with oracle/experiments/harness-stores: a not-present write fault on <c>out</c>'s second
    /// page in the second phase_end's later segments (memfd-swap-memcg's remap: failcnt; shmem-swap-memcg's read:
    /// max_usage_in_bytes), which frees the page's slot (do_swap_page's should_try_to_free_swap) and leaves it dirty. Only
    /// with the measured first accesses (<see cref="MeasuredFirstAccesses"/>).
    /// </summary>
    public long[] RecordGrowth(int phase)
    {
        if (!MeasuredFirstAccesses)
            return [];
        long from = RecordStart(phase) / ProgramPlan.PageSize;
        long to = (RecordStart(phase + 1) - 1) / ProgramPlan.PageSize;
        var pages = new List<long>();
        for (long i = from + 1; i <= to && OutnPage + i < BssPages - 1; i++)
            pages.Add(Pages - BssPages + OutnPage + i);
        return [.. pages];
    }

    /// <summary>
    /// exit()'s accesses after finish() wrote the record, in the order Linux 6.18 faulted them in each of 14 traced runs
    /// of swappiness-60, thp-swpout and thp-deferred-split-memcg (oracle/experiments/sw60-harness-reclaim; _dl_fini's
    /// work, presumably): loads from the program's RELRO page (14), ld.so's RELRO page 0x7ffff7ffc000 (13), its rw
    /// page 1 (11) and its scratch page (15), a store to its rw page 0 (12), then a store to libc's bss page 5
    /// (0x7ffff7fada60) and a load from libc's RELRO segment's first page (0x7ffff7fa29d8), neither of them one emit's
    /// calls use (a fault each in 12 runs of 4 memcg programs, oracle/experiments/swap-ra-exit; the same two after the
    /// binding in the first phase_end's meminfo segment, oracle/experiments/harness-stores/results/first-faults.txt): the
    /// start-up-only pages standing for them in <see cref="StartupOrder"/>, 19 (libc's bss 5, slot 17) and 17 (libc's RELRO 0,
    /// slot 13), as the kernel's slots (oracle/experiments/stack-top/results/session16.txt; until session 22 the first two
    /// start-up-only pages, 17 and 18, adjacent slots). Empty when the footprint lacks them.
    /// </summary>
    public (long Page, bool Store)[] ExitPages
    {
        get
        {
            long first = StartupRoles.Sum(r => r.Count), startup = Pages - WarmUpStackPages - BssPages;
            return first + 3 <= startup ? [(14, false), (13, false), (11, false), (15, false), (12, true), (LibcBss5Page, true), (first, false)] : [];
        }
    }

    /// <summary>
    /// The start-up-only page standing for libc's bss page 5 (0x7ffff7fad000), third of them in <see cref="StartupOrder"/>
    /// (after libc's RELRO 0 and 2), which exit() stores to (<see cref="ExitPages"/>).
    /// </summary>
    public const long LibcBss5Page = 19;

    /// <summary>
    /// emit's pages in the order Linux 6.18 faulted them in each phase_end's first segment
    /// (oracle/experiments/harness-stores/results/first-faults.txt, all 20 such segments of the 15 memcg programs: <c>outn</c>'s page, the TLS page, then libc's bss 0, RELRO 3, rw 0, RELRO 1, rw 1, bss 6) instead of the roles'
    /// index order (libc's rw 1, RELRO 3, RELRO 1, rw 0, bss 6, bss 0). With it memfd-swap-memcg's fill phase_end takes the
    /// kernel's first six windows (4, 1, 1, 4, 4, 2: oracle/experiments/pswp-harness's kernel runs). Until session 32 a what-if
    /// (the previous-run pass's state moved other programs, oracle/experiments/pswp-harness, "Session 23"); the default with the
    /// measured zero set (<see cref="ZeroRuns"/>; oracle/experiments/pswp-harness/results/session32.txt).
    /// <c>ECSMEM_ORACLE_EMIT_ORDER=0</c>: the roles' index order (the what-if).
    /// </summary>
    public static bool EmitMeasuredOrder => OracleEnv.Flag("ECSMEM_ORACLE_EMIT_ORDER", unset: true);

    /// <summary>emit's start-up pages in the measured order (<see cref="EmitMeasuredOrder"/>): indices by role (<see cref="StartupOrder"/>).</summary>
    public static readonly long[] EmitOrder = [TlsPage, TopStackPage, 9, 5, 7, 6, 4, 8, RseqPage];

    /// <summary>The page indices phase_end writes before smaps gives the program's VMAs (<paramref name="first"/>: the first phase_end).</summary>
    public long[] BeforeSnapshot(bool first) => first ? FirstBeforeSnapshot : LaterBeforeSnapshot;

    /// <summary>
    /// The footprint of kit program <paramref name="p"/> (null when it has no recording yet). A fixture with per-run
    /// footprints (<see cref="ProgramFigures.HarnessKb"/>) was recorded by record.sh since it runs the programs with
    /// <c>env -i</c> (the same commit, c5db325): an empty environment.
    /// </summary>
    public static HarnessFootprint? Of(PhaseProgram p)
    {
        ProgramFigures? f = ScenarioGenerator.HarnessFixture(p);
        long total = f is null ? 0 : ScenarioGenerator.HarnessKb(f) / 4;
        if (total <= 0)
            return null;
        HarnessFootprint h = FromTotal(total, emptyEnvironment: f!.HarnessKb is not null, bindingAfterSmaps: p.Swap && BindingAfterSmaps);
        return MeasuredLengths ? h with { Lengths = LengthsOf(p) } : h;
    }

    /// <summary>
    /// The footprint of a harness that wrote <paramref name="total"/> anonymous pages in all, run with an empty
    /// environment (<paramref name="emptyEnvironment"/>: record.sh's <c>env -i</c>) or with a shell's; the window's pages as
    /// measured, with the GOT read at its end (<see cref="Window"/>).
    /// </summary>
    public static HarnessFootprint FromTotal(long total, bool emptyEnvironment, bool bindingAfterSmaps = false)
    {
        long warmUp = WarmUpStackPages + BssPages;
        // A footprint smaller than warm_up's pages cannot come from this harness; keep warm_up's pages then.
        long startup = Math.Max(0, total - warmUp);
        long pages = startup + warmUp;
        long stack = startup, bss = startup + WarmUpStackPages;

        // The start-up roles, cut to the recorded count (the rest: written at start-up only).
        var role = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        long next = 0;
        foreach (var (name, count) in StartupRoles)
        {
            var list = new List<long>();
            // Under an empty environment main's frame sits high enough in the top pages that phase_end's deepest frames
            // stay in the second stack page: the third is written at start-up only (its index stays the stack page's).
            int n = name == "deeper" && emptyEnvironment ? 0 : count;
            for (int i = 0; i < n && next < startup; i++)
                list.Add(next++);
            role[name] = list;
        }

        var prelude = new List<long>(StartupPrelude(startup));
        bool signalFrameLast = SignalFrameLast;
        for (long i = signalFrameLast ? 1 : 0; i < WarmUpStackPages; i++)
            prelude.Add(stack + i);
        for (long i = OutnPage; i < BssPages - 1; i++) // warm_up's loop over out
            prelude.Add(bss + i);
        for (long i = 0; i < OutnPage; i++) // its loop over buf
            prelude.Add(bss + i);
        prelude.Add(bss + BssPages - 1); // reg, the descriptors' loop
        if (signalFrameLast)
            prelude.Add(stack); // raise(SIGBUS)'s signal frame, below the array

        bool measured = PhaseEndLoadsFirst;
        // emit reads outn before vsnprintf stores the record into out (LoadsFirst): outn's page is loaded first, stored last.
        long[] outnFirst = measured ? [bss + OutnPage] : [];
        List<long> emit = role["emit"];
        if (EmitMeasuredOrder)
            emit = [.. EmitOrder.Where(emit.Contains), .. emit.Where(i => !EmitOrder.Contains(i))];
        long[] later = [.. outnFirst, .. emit, bss + OutnPage];
        // A swap program's first phase_end binds its new functions (vmas' strcmp, strrchr, strtol; getenv) after the smaps
        // read (FirstBindingLate): swap_counts bound open, read and sscanf before the first phase.
        long[] binding = bindingAfterSmaps ? [] : [.. role["binding"]];
        long[] first = [.. outnFirst, .. emit, .. binding, bss + OutnPage];
        var between = new List<long>(role["deeper"]);
        for (long i = 0; i < SmapsBufPages; i++)
            between.Add(bss + i); // slurp into buf
        var tail = new List<long>();
        if (measured && role["emit"].Contains(TlsPage))
            tail.Add(TlsPage); // vmas' sscanf: __libc_cleanup_push_defer's store into struct pthread
        tail.Add(bss + BssPages - 1); // in_regions reads reg
        between.AddRange(tail);
        var (start, end, after) = Window(role["window"], startup);
        return new HarnessFootprint(pages, prelude.ToArray(), between.ToArray(), end, first, later)
        {
            PhaseStart = start,
            AfterWindow = after,
            PhaseEndLoad = end.Length == 3 && end[2] == DataPage ? DataPage : -1,
            MeasuredFirstAccesses = measured,
            BetweenHead = [.. role["deeper"]],
            BetweenTail = [.. tail],
            // _dl_runtime_resolve's frame (its xsave area) reaches the stack page below main's: on Linux the top page of
            // warm_up's array under an empty environment (slot 84, next to outn's 85), a store.
            FirstBindingLate = bindingAfterSmaps ? [.. BindingOrder.Where(role["binding"].Contains), stack + WarmUpStackPages - 1] : [],
        };
    }

    /// <summary>
    /// The harness pages each phase's window touches at its start (<see cref="PhaseStart"/>), at its end (<see cref="PhaseEnd"/>)
    /// and right after it (<see cref="AfterWindow"/>), from the window role's pages (<paramref name="window"/>: main's stack page
    /// below the top one, the .data page) in a footprint of <paramref name="startup"/> start-up pages. Measured on Linux 6.18
    /// with oracle/experiments/window-stack (strace of each getrusage's pointer under record.sh's strings, the binary's code,
    /// perf's major faults): phase_start's <c>u</c> is on the top stack page (0x7fffffffebc0) and its stores of min0 and maj0
    /// in the .data page follow; phase_end pushes its registers on the top page and allocates a 4.3 KB frame (<c>path</c>), so
    /// its <c>call getrusage</c> stores the return address on the second stack page (0x7fffffffdb38; <c>u</c> at
    /// 0x7fffffffdb90): a fault there is inside the window (getrusage copies its figures out after taking them), as the kernel's
    /// file2 and fill majors at 0x7fffffffdb68 show; then the PLT's load of getrusage's GOT slot in the .data page, before the
    /// system call (<see cref="PhaseEndLoad"/>: the kernel's separate majors on the second stack page and .data). phase_end's
    /// reads of min0 and maj0 and its clearing of <c>errs</c> come after getrusage: outside the window. The default since
    /// session 17 (with exec's touches of the top stack page, <see cref="ExecArgPageTouches"/>, and phase_end's loads,
    /// <see cref="PhaseEndLoads"/>): oracle/experiments/harness-loads.
    /// </summary>
    private static (long[] Start, long[] End, long[] After) Window(List<long> window, long startup)
    {
        // A footprint too small for the roles: the window role's pages at its end, all stored to.
        if (window.Count < 2 || startup <= TopStackPage)
            return ([], [.. window], []);
        // The window role holds main's stack page (below the top one) and the .data page; phase_start's frame is on the top page.
        return ([TopStackPage, DataPage], [TopStackPage, MainStackPage, DataPage], [DataPage]);
    }

    /// <summary>Page indices written at the start of each phase's window (phase_start's getrusage and its stores).</summary>
    public long[] PhaseStart { get; init; } = [];

    /// <summary>
    /// The page of <see cref="PhaseEnd"/> that the window only reads (-1: none): the PLT's load of getrusage's GOT slot in
    /// the .data page. A read fault keeps a swapped-in page's swap slot (do_swap_page's should_try_to_free_swap frees it on
    /// a write fault only), so the page goes back to the same slot when it is reclaimed (measured: oracle/experiments/
    /// stack-top's A2 slots, the .data page still at slot 1 at the write pass's end, and the kernel's separate majors on
    /// the second stack page and .data: oracle/experiments/window-stack, "Session 16, wbound").
    /// </summary>
    public long PhaseEndLoad { get; init; } = -1;

    /// <summary>Page indices phase_end touches right after the window closes (its reads of <c>min0</c>, <c>maj0</c>).</summary>
    public long[] AfterWindow { get; init; } = [];
}

/// <summary>
/// Where the harness's pages and the rest of the real process's VMAs sit, as on the recording machine
/// (<c>setarch -R</c>, gcc's PIE binary, glibc 2.41's ld.so and libc; a harness program's /proc/self/maps on Linux 6.18:
/// 23 VMAs besides the program's regions, <c>oracle/experiments/kmem/results/maps.txt</c>): the kernel charges a
/// vm_area_struct for each, an anon_vma and its chain for each one written, and page tables for the 2 MiB and 1 GiB
/// ranges the pages are in (VmPTE 8 pages before the program maps anything: the binary's PUD, PMD and PTE table,
/// and under 0x7fff_c000_0000 a PUD, a PMD and the PTE tables of ld.so's and libc's area, of the TLS and of the stack).
/// The scenario keeps the exec layout's text, data and bss at 0x400000 (standing for the binary's r-x and .data
/// segments and its bss; untouched) and the phase marker page (standing for its first r-- segment); the harness's
/// pages go to the real anonymous VMAs: the .data page and the bss behind the marker (one PTE table with it, as the
/// binary's), the stack array and main's frames at the stack's top (replacing the exec layout's [stack]), the TLS
/// pages where glibc puts the TLS (the rseq area at 0x7ffff7dd1060, measured), libc's, ld.so's and the program's
/// RELRO and data pages in libc's bss area, ld.so's scratch page in the anonymous VMA above libc. Simplified: the
/// pages the real process copies out of files' rw and RELRO segments (libc's, ld.so's, the program's .data) sit in
/// anonymous VMAs (a private file page written would be read from the file and charged to the group, where the
/// kernel finds those pages cached since boot), so the scenario has 5 anon_vmas with one chain each where the kernel
/// has 8–10 and 11–13 (~0.8 KiB); and the file segments of libc and ld.so, [vvar], [vvar_vclock] and [vdso] are
/// mapped but never touched (their pages are not the group's: cached since boot, or the kernel's).
/// </summary>
public sealed class HarnessLayout
{
    /// <summary>The stack's top (TASK_SIZE of 4-level paging; main's frame in the page below it).</summary>
    public const ulong StackTop = 0x7fff_ffff_f000;

    /// <summary>glibc's TLS and struct pthread: the anonymous 3-page VMA below libc.</summary>
    public const ulong TlsArea = 0x7fff_f7dd_0000;

    /// <summary>libc's bss: the anonymous VMA behind libc's rw segment (13 pages on the recording machine).</summary>
    public const ulong LibcBssArea = 0x7fff_f7fa_8000;

    /// <summary>The anonymous 2-page VMA ld.so maps below [vvar] (its scratch page).</summary>
    public const ulong LdsoScratchArea = 0x7fff_f7fc_0000;

    /// <summary>
    /// The real process's VMAs the scenario maps and never touches: (start, pages, prot, file, offset in pages). A RELRO
    /// segment (prot "relro") is mapped rw- and mprotected read-only, as ld.so does, so it keeps VM_ACCOUNT and stays
    /// apart from the read-only segment before it whose file offsets it continues: the kernel's VMA count (mapped r-- at
    /// once, libc's and ld.so's would merge: 2 VMAs and 400 bytes of slab fewer, oracle/experiments/kmem, "Session 14").
    /// </summary>
    public static readonly (ulong Start, long Pages, string Prot, string File, long Offset)[] Untouched =
    [
        (ProgramPlan.MarkerAddr - 0x2000, 1, "relro", "binary", 2), // the binary's RELRO segment
        (0x7fff_f7dd_3000, 0x26, "r--", "/usr/lib/x86_64-linux-gnu/libc.so.6", 0),
        (0x7fff_f7df_9000, 0x156, "r-x", "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x26),
        (0x7fff_f7f4_f000, 0x53, "r--", "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x17c),
        (0x7fff_f7fa_2000, 4, "relro", "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x1cf),
        (0x7fff_f7fa_6000, 2, "rw-", "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x1d3),
        (0x7fff_f7fc_2000, 4, "r--", "/[vvar]", 0),
        (0x7fff_f7fc_6000, 2, "r--", "/[vvar_vclock]", 0),
        (0x7fff_f7fc_8000, 2, "r-x", "/[vdso]", 0),
        (0x7fff_f7fc_a000, 1, "r--", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0),
        (0x7fff_f7fc_b000, 0x26, "r-x", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 1),
        (0x7fff_f7ff_1000, 0xa, "r--", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0x27),
        (0x7fff_f7ff_b000, 2, "relro", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0x31),
        (0x7fff_f7ff_d000, 2, "rw-", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0x33),
    ];

    /// <summary>Each harness page's address.</summary>
    public ulong[] Addr { get; }

    /// <summary>The harness's anonymous VMAs (start, pages), in the order the scenario maps them.</summary>
    public IReadOnlyList<(ulong Start, long Pages)> Areas { get; }

    private HarnessLayout(ulong[] addr, List<(ulong, long)> areas)
    {
        Addr = addr;
        Areas = areas;
    }

    /// <summary>The layout of <paramref name="h"/>'s pages (by the roles of <see cref="HarnessFootprint.StartupRoles"/>).</summary>
    public static HarnessLayout Of(HarnessFootprint h)
    {
        long bssStart = h.Pages - HarnessFootprint.BssPages, arrayStart = bssStart - HarnessFootprint.WarmUpStackPages;
        long startup = arrayStart;
        var addr = new ulong[h.Pages];
        const ulong page = ProgramPlan.PageSize;
        // The binary's .data page and bss right behind the marker page (the binary's first page): one PTE table.
        ulong bssArea = ProgramPlan.MarkerAddr + page;
        // Start-up pages by role (HarnessFootprint.StartupRoles): window 0 main's stack page (below the top one), 1 the
        // .data page; emit 2 a TLS page, 3 the stack's top page (exec's), 4-9 libc's, 10 the rseq TLS page; binding 11-13
        // ld.so's data and RELRO, 14 the program's RELRO, 15 ld.so's scratch page; deeper 16 the third stack page; the
        // rest start-up only.
        int libcPages = 0;
        for (long i = 0; i < startup; i++)
        {
            switch (i)
            {
                case HarnessFootprint.TopStackPage:
                    addr[i] = StackTop - page;
                    break;
                case HarnessFootprint.MainStackPage:
                    addr[i] = StackTop - (2 * page);
                    break;
                case HarnessFootprint.ThirdStackPage:
                    addr[i] = StackTop - (3 * page);
                    break;
                case HarnessFootprint.DataPage:
                    addr[i] = bssArea;
                    break;
                case 2:
                    addr[i] = TlsArea;
                    break;
                case HarnessFootprint.RseqPage:
                    addr[i] = TlsArea + page;
                    break;
                case 15:
                    addr[i] = LdsoScratchArea;
                    break;
                default:
                    addr[i] = LibcBssArea + ((ulong)libcPages++ * page);
                    break;
            }
        }
        // warm_up's array below main's frames, in address order.
        ulong arrayBase = StackTop - ((ulong)(3 + HarnessFootprint.WarmUpStackPages) * page);
        for (long j = 0; j < HarnessFootprint.WarmUpStackPages; j++)
            addr[arrayStart + j] = arrayBase + ((ulong)j * page);
        for (long j = 0; j < HarnessFootprint.BssPages; j++)
            addr[bssStart + j] = bssArea + ((ulong)(j + 1) * page);
        // One page more than the start-up pages use: the page of libc's bss only a fork's child writes (ChildOnlyPage).
        long libcArea = Math.Max(13, libcPages) + 1;
        if (LibcBssArea + ((ulong)libcArea * page) > LdsoScratchArea)
            throw new InvalidOperationException($"{startup} harness start-up pages do not fit libc's bss area");
        var areas = new List<(ulong, long)>
        {
            (bssArea, 1 + HarnessFootprint.BssPages),
            (TlsArea, 3),
            (LibcBssArea, libcArea),
            (LdsoScratchArea, 2),
            (arrayBase, 3 + HarnessFootprint.WarmUpStackPages),
        };
        return new HarnessLayout(addr, areas) { ChildOnlyPage = LibcBssArea + ((ulong)(libcArea - 1) * page) };
    }

    /// <summary>
    /// A page of libc's bss that only a fork's child writes (glibc's fork in the child, 0x7ffff7faca88 on Linux 6.18:
    /// libc's bss page 4, which the parent never touches; <see cref="HarnessFootprint.ForkChildStores"/>): the last page of
    /// the model's libc bss area, behind the start-up pages it holds.
    /// </summary>
    public ulong ChildOnlyPage { get; private init; }
}
