namespace EcsMem.Oracle;

/// <summary>
/// The kit harness's own anonymous pages under a memcg (oracle/harness.h), as the scenario maps them: one VMA at
/// <see cref="ScenarioGenerator.HarnessAddr"/> whose pages stand for, in this order,
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
/// Each phase's window ends with getrusage's two stores (<see cref="PhaseEnd"/>: the stack and the globals). Then
/// phase_end, before the kernel gives the program's first smaps record (<see cref="BeforeSnapshot"/>, where the
/// scenario's VMAs are read): emit's libc and TLS pages, its stack frame and <c>outn</c>'s page, and in the first
/// phase_end the dynamic linker's lazy binding of the functions it calls first. After it
/// (<see cref="BetweenPhases"/>, before the next phase): a deeper stack page, <c>buf</c>'s first
/// <see cref="SmapsBufPages"/> pages (slurp of /proc/self/smaps) and <c>reg</c>'s.
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

    /// <summary>The bss's anonymous pages: <c>buf</c> and <c>out</c>, <c>1 &lt;&lt; 18</c> bytes each (harness.h), <c>reg</c> in the last.</summary>
    public const long BssPages = 2 * (BufBytes / ProgramPlan.PageSize);

    /// <summary>The bss page holding <c>outn</c> and the head of <c>out</c> (and <c>buf</c>'s tail).</summary>
    public const long OutnPage = BssPages / 2 - 1;

    /// <summary>
    /// <c>buf</c>'s pages one <c>slurp("/proc/self/smaps")</c> fills: the kit programs' smaps is 19–20 KB (19,146
    /// bytes for swap-anon-read, measured), written from <c>buf</c>'s start 3.5 KiB before the bss's first page, so
    /// bss pages 0–3 (smaps_rollup, memory.stat and meminfo are shorter and land in the same pages).
    /// </summary>
    public const long SmapsBufPages = 4;

    /// <summary>
    /// The start-up pages by role, in prelude order, with their counts (measured on Linux 6.18 with
    /// oracle/experiments/harness-footprint: which harness pages are resident right before phase_end reads smaps
    /// and right after, having been swapped out during the phase): the stack page of main's frame (getrusage's
    /// <c>u</c>) and the program's .data page (the globals: <c>sink</c>, <c>min0</c>, <c>errs</c>), the window's end;
    /// "emit": a TLS page, a second stack page (emit's and vsnprintf's frames) and libc's 6 data, bss and RELRO pages
    /// its calls use, and the other TLS page; "binding": the pages only the first phase_end touches (ld.so's data
    /// and RELRO, 3, the program's RELRO page with its GOT, ld.so's scratch page: lazy binding of open, read,
    /// sscanf, strtol and getenv); "deeper": the third stack page, which vmas' and sscanf's frames reach after the
    /// smaps read; the rest were written at start-up only.
    /// </summary>
    public static readonly (string Role, int Count)[] StartupRoles = [("window", 2), ("emit", 9), ("binding", 5), ("deeper", 1)];

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
    /// The pages <c>warm_up</c> stored only zeros into, as runs (first page index, count): its stack array less the
    /// top <see cref="StackArrayOverwritten"/> pages, and the bss's <c>buf</c> and <c>out</c> (pages 0–126; <c>reg</c>'s
    /// page holds -1s). 187 pages, as measured on Linux 6.18 (oracle/experiments/swap-cache-residue/results/zero-pages.txt:
    /// swpout_zero +187 in swap-anon-read and swap-anon-write, whose fills swap out every harness page once). Which
    /// pages of the array main's later frames reach is not measured: the count is. The pages phase_end later fills
    /// with text (<c>buf</c>'s first pages, <c>outn</c>'s) are written by the trace's stores, which clear the mark.
    /// </summary>
    public (long First, long Count)[] ZeroRuns
    {
        get
        {
            long stack = Pages - WarmUpStackPages - BssPages, bss = Pages - BssPages;
            return [(stack, WarmUpStackPages - StackArrayOverwritten), (bss, BssPages - 1)];
        }
    }

    /// <summary>
    /// The top pages of <c>warm_up</c>'s stack array that hold data when the fill swaps them out: the frames of the calls
    /// main makes after it (phase_start, touch, getrusage) reuse them. 4 makes the zero-filled pages the 187 measured.
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

    /// <summary>The page indices phase_end writes before smaps gives the program's VMAs (<paramref name="first"/>: the first phase_end).</summary>
    public long[] BeforeSnapshot(bool first) => first ? FirstBeforeSnapshot : LaterBeforeSnapshot;

    /// <summary>The footprint of kit program <paramref name="p"/> (null when it has no recording yet).</summary>
    public static HarnessFootprint? Of(PhaseProgram p)
    {
        long total = ScenarioGenerator.HarnessPages(p);
        return total > 0 ? FromTotal(total) : null;
    }

    /// <summary>The footprint of a harness that wrote <paramref name="total"/> anonymous pages in all.</summary>
    public static HarnessFootprint FromTotal(long total)
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
            for (int i = 0; i < count && next < startup; i++)
                list.Add(next++);
            role[name] = list;
        }

        var prelude = new List<long>();
        for (long i = 0; i < startup; i++)
            prelude.Add(i);
        for (long i = 0; i < WarmUpStackPages; i++)
            prelude.Add(stack + i);
        for (long i = OutnPage; i < BssPages - 1; i++) // warm_up's loop over out
            prelude.Add(bss + i);
        for (long i = 0; i < OutnPage; i++) // its loop over buf
            prelude.Add(bss + i);
        prelude.Add(bss + BssPages - 1); // reg, the descriptors' loop

        long[] later = [.. role["emit"], bss + OutnPage];
        long[] first = [.. role["emit"], .. role["binding"], bss + OutnPage];
        var between = new List<long>(role["deeper"]);
        for (long i = 0; i < SmapsBufPages; i++)
            between.Add(bss + i); // slurp into buf
        between.Add(bss + BssPages - 1); // in_regions reads reg
        return new HarnessFootprint(pages, prelude.ToArray(), between.ToArray(), role["window"].ToArray(), first, later);
    }
}
