namespace EcsMem.Oracle;

/// <summary>
/// The kit harness's own anonymous pages under a memcg (oracle/harness.h), as the scenario maps them: one VMA at
/// <see cref="ScenarioGenerator.HarnessAddr"/> whose pages stand for, in this order,
/// <list type="bullet">
/// <item>the start-up pages: what ld.so, libc and main's frame wrote before <c>warm_up</c> (libc's and ld.so's
/// data, bss and RELRO pages, the program's .data and RELRO, the TLS, the top of the stack): the recorded
/// footprint less the pages <c>warm_up</c> writes;</item>
/// <item><c>warm_up</c>'s stack array (<c>stack[256 &lt;&lt; 10]</c>: 64 pages);</item>
/// <item>the bss's anonymous pages: <c>buf</c> and <c>out</c> (<c>1 &lt;&lt; 18</c> bytes each) and <c>reg</c>
/// behind them, 128 pages. gcc puts <c>buf</c> 3.5 KiB before the end of the .data page (so <c>buf</c> is
/// bss pages 0–62 and the head of 63), <c>outn</c> and the head of <c>out</c> in page 63, <c>out</c> up to 126
/// and the head of 127, <c>reg</c> in 127.</item>
/// </list>
/// The orders are the C program's (and, measured with oracle/experiments/harness-footprint on Linux 6.18, the order
/// in which memcg reclaim swaps them out, slot by slot in swap cluster 0): the start-up pages, the stack array,
/// <c>warm_up</c>'s loop over <c>out</c> (bss 63–126), its loop over <c>buf</c> (bss 0–62), then <c>reg</c> (127,
/// the loop that clears the descriptors). Each phase's window ends with getrusage's two stores (the stack and the
/// globals: start-up pages 0 and 1); then phase_end's emit writes <c>outn</c>'s page (63) before smaps is read
/// (where the scenario's VMAs are compared), and after it, before the next phase, phase_end touches
/// <see cref="PhaseEndStartupPages"/> start-up pages, <c>buf</c>'s first <see cref="SmapsBufPages"/> pages
/// (slurp of /proc/self/smaps) and <c>reg</c>'s (127).
/// </summary>
/// <param name="Pages">The VMA's size in pages: the whole footprint.</param>
/// <param name="Prelude">Page indices written before the first phase, in order.</param>
/// <param name="BetweenPhases">Page indices written between two phases (outside both windows), in order.</param>
/// <param name="PhaseEnd">Page indices written at the end of each phase's window.</param>
/// <param name="BeforeSnapshot">Page indices phase_end writes after the window and before smaps gives the program's
/// VMAs (their first record: the regions lie below everything else): emit's store to <c>outn</c> and the record's text.</param>
public sealed record HarnessFootprint(long Pages, long[] Prelude, long[] BetweenPhases, long[] PhaseEnd, long[] BeforeSnapshot)
{
    /// <summary><c>warm_up</c>'s stack array in pages (harness.h: <c>volatile char stack[256 &lt;&lt; 10]</c>).</summary>
    public const long WarmUpStackPages = (256 << 10) / ProgramPlan.PageSize;

    /// <summary>The bss's anonymous pages: <c>buf</c> and <c>out</c>, <c>1 &lt;&lt; 18</c> bytes each (harness.h), <c>reg</c> in the last.</summary>
    public const long BssPages = 2 * ((1 << 18) / ProgramPlan.PageSize);

    /// <summary>The bss page holding <c>outn</c> and the head of <c>out</c> (and <c>buf</c>'s tail).</summary>
    public const long OutnPage = BssPages / 2 - 1;

    /// <summary>
    /// <c>buf</c>'s pages one <c>slurp("/proc/self/smaps")</c> fills: the kit programs' smaps is 19–20 KB (19,146
    /// bytes for swap-anon-read, measured), written from <c>buf</c>'s start 3.5 KiB before the bss's first page, so
    /// bss pages 0–3 (smaps_rollup, memory.stat and meminfo are shorter and land in the same pages).
    /// </summary>
    public const long SmapsBufPages = 4;

    /// <summary>
    /// Start-up pages <c>phase_end</c> touches (measured on Linux 6.18 with oracle/experiments/harness-footprint:
    /// resident after phase_end, 23 harness pages in all, the bss's 6 among them): ld.so's data and RELRO (3),
    /// libc's data, bss and RELRO (6: getenv, snprintf, sscanf, strtol and the system-call wrappers), the
    /// program's .data and RELRO (2), the TLS (3), the top 3 stack pages (main's and phase_end's frames, whose
    /// <c>char path[4096]</c> spans a page).
    /// </summary>
    public const long PhaseEndStartupPages = 17;

    /// <summary>The start-up page standing for the program's .data page (the globals: <c>sink</c>, <c>min0</c>, <c>errs</c>).</summary>
    public const long DataPage = 1;

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
        // A footprint smaller than warm_up's pages cannot come from this harness; keep every page then, in order.
        long startup = Math.Max(0, total - warmUp);
        long pages = startup + warmUp;
        long stack = startup, bss = startup + WarmUpStackPages;
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

        var between = new List<long>();
        for (long i = 0; i < Math.Min(PhaseEndStartupPages, startup); i++)
            between.Add(i);
        for (long i = 0; i < SmapsBufPages; i++)
            between.Add(bss + i); // slurp into buf
        between.Add(bss + BssPages - 1); // in_regions reads reg
        long[] end = startup >= 2 ? [0, 1] : [];
        return new HarnessFootprint(pages, prelude.ToArray(), between.ToArray(), end, [bss + OutnPage]);
    }
}
