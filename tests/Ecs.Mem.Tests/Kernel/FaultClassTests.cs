using EcsMem.Components;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>Every fault class of handle_mm_fault, each on a hand-built machine with the counts worked out below.</summary>
public class FaultClassTests
{
    [Test]
    public void AddressInNoVmaKillsOnlyThatProcessWithSigsegv()
    {
        using var m = new SimMachine(Options());
        // p1: a write to its own page, then a read of 0x20000000 where nothing is mapped, then a write it never reaches.
        var p1 = Add(m, "p1", Anon(Base, 4), 0, W(Base), R(0x2000_0000), W(Base + Page));
        var p2 = Add(m, "p2", Anon(Base, 4), 0, W(Base), R(Base));
        m.Run();

        Assert.That(Proc(m, p1).State, Is.EqualTo(ProcessState.Killed));
        Assert.That(Proc(m, p1).ExitSignal, Is.EqualTo(11));
        Assert.That(Stats(m, p1).Accesses, Is.EqualTo(1), "only the first write of p1 completed");
        Assert.That(Proc(m, p2).State, Is.EqualTo(ProcessState.Exited), "p2 goes on");
        Assert.That(Stats(m, p2).Accesses, Is.EqualTo(2));
        // pgfault counts handle_mm_fault calls: p1's first write and p2's first write; the bad access never gets there.
        Assert.That(Counter(m, "pgfault"), Is.EqualTo(2));
        Assert.That(Counter(m, "ecsmem_sigsegv"), Is.EqualTo(1));
        Assert.That(Stats(m, p1).MinFlt, Is.EqualTo(1));
        Assert.That(Stats(m, p2).MinFlt, Is.EqualTo(1));
        Assert.That(m.Kernel.Tasks.KillLog, Has.Count.EqualTo(1));
        Assert.That(m.Kernel.Tasks.KillLog[0], Does.StartWith("p1[1]: killed by signal 11: segfault at 20000000"));
        // Both address spaces are gone: every frame but the zero page is free again.
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(1024 - 1));
    }

    [Test]
    public void WriteToReadOnlyVmaAndExecuteOfNoExecVmaAreSigsegv()
    {
        using var m = new SimMachine(Options());
        var ro = Add(m, "ro", Anon(Base, 1, Prot.Read), 0, R(Base), W(Base));
        var nx = Add(m, "nx", Anon(Base, 1), 0, X(Base));
        m.Run();

        Assert.That(Proc(m, ro).State, Is.EqualTo(ProcessState.Killed));
        Assert.That(Proc(m, ro).ExitSignal, Is.EqualTo(11));
        Assert.That(Stats(m, ro).Accesses, Is.EqualTo(1), "the read (zero page) completes, the write is refused");
        Assert.That(Proc(m, nx).State, Is.EqualTo(ProcessState.Killed));
        Assert.That(Proc(m, nx).ExitSignal, Is.EqualTo(11));
        Assert.That(Stats(m, nx).Accesses, Is.EqualTo(0));
        // x86's access_error does not look at VM_EXEC: nx's fetch of a page not yet present is handled like
        // a read (the zero page is mapped, with NX), and the retried fetch, now X86_PF_PROT | X86_PF_INSTR on a
        // present page, is refused. So handle_mm_fault ran twice: ro's read and nx's first fetch.
        Assert.That(Counter(m, "pgfault"), Is.EqualTo(2));
        Assert.That(Stats(m, nx).MinFlt, Is.EqualTo(1));
        Assert.That(Counter(m, "ecsmem_sigsegv"), Is.EqualTo(2));
        Assert.That(m.Kernel.Tasks.KillLog.Count(l => l.Contains("instruction fetch from a no-exec page")), Is.EqualTo(1));
    }

    [Test]
    public void ThirtyTwoBitPagingHasNoNxSoAReadablePageIsExecutable()
    {
        // 2-level 32-bit paging has no NX bit (_PAGE_NX is 0 without PAE): the same fetch from an rw- area
        // runs, as on an i386 without PAE. The fetch faults once (the page is not present), maps the zero
        // page like a read, and the retried fetch goes through.
        var options = Options();
        options = options with { Paging = PagingMode.X86_32 };
        using var m = new SimMachine(options);
        var p = Add(m, "p", Anon(Base, 1), 0, X(Base), X(Base + 8));
        RunUntilAccesses(m, p, 2);
        var pte = new Pte(Mm(m, p).Tables.Lookup(Base));
        Assert.That(pte.Present && pte.Executable, Is.True);
        Assert.That(pte.Value & Pte.NxBit, Is.Zero);
        m.Run();
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(Stats(m, p).Accesses, Is.EqualTo(2));
        Assert.That(Counter(m, "pgfault"), Is.EqualTo(1));
        Assert.That(Counter(m, "ecsmem_sigsegv"), Is.Zero);
    }

    [Test]
    public void AnonymousReadMapsTheZeroPageAndAWriteThenCopiesIt()
    {
        using var m = new SimMachine(Options());
        var p = Add(m, "p", Anon(Base, 2), 0, R(Base), W(Base), W(Base + Page));

        // 1: read of never-written memory → the shared zero page, nothing resident.
        RunUntilAccesses(m, p, 1);
        Assert.That(PfnAt(m, p, Base), Is.EqualTo(m.Kernel.Zone.ZeroPfn));
        Assert.That(Mm(m, p).Rss, Is.EqualTo(0UL));
        Assert.That(Counter(m, "ecsmem_zero_page_map"), Is.EqualTo(1));

        // 2: write to the zero-page PTE → copy-on-write from the zero page: a fresh private page.
        RunUntilAccesses(m, p, 2);
        int first = PfnAt(m, p, Base);
        Assert.That(first, Is.Not.EqualTo(m.Kernel.Zone.ZeroPfn).And.GreaterThanOrEqualTo(0));
        Assert.That(m.Kernel.Zone.Frames[first].IsAnon, Is.True);
        Assert.That(m.Kernel.Zone.Frames[first].MapCount, Is.EqualTo(1));
        Assert.That(Mm(m, p).Rss, Is.EqualTo(1UL));
        Assert.That(Counter(m, "ecsmem_cow_copy"), Is.EqualTo(1));

        // 3: first touch is a write → a zero-filled frame at once (do_anonymous_page), no zero page.
        RunUntilAccesses(m, p, 3);
        int second = PfnAt(m, p, Base + Page);
        Assert.That(second, Is.Not.EqualTo(m.Kernel.Zone.ZeroPfn).And.Not.EqualTo(first));
        Assert.That(Mm(m, p).Mm.Struct.RssAnon, Is.EqualTo(2UL));
        Assert.That(m.Kernel.Zone.Frames[second].ContentToken, Is.Not.EqualTo(m.Kernel.Zone.Frames[first].ContentToken));
        Assert.That(Counter(m, "ecsmem_zero_page_map"), Is.EqualTo(1));

        m.Run();
        // Three faults, all minor.
        Assert.That(Counter(m, "pgfault"), Is.EqualTo(3));
        Assert.That(Counter(m, "pgmajfault"), Is.EqualTo(0));
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(3));
        Assert.That(Stats(m, p).MajFlt, Is.EqualTo(0));
    }

    [Test]
    public void FilePageInThePageCacheIsAMinorFaultForASecondProcess()
    {
        // One page per fault is the point here: readahead and fault-around off (ReadaheadTests covers them).
        using var m = new SimMachine(Options() with { FaultAroundBytes = 4096, ReadAheadKb = 0 });
        int file = m.Kernel.Files.Intern("/lib/data.bin");
        Action<Systems.Kernel.MmState> layout = mm => Mmap(mm, Base, 2, Prot.Read, MapFlags.Private, file);
        // p1 reads page 0 (major, 300 000 cycles of disk, done at 5000 + 20 + 300 000 = 305 020), then page 1
        // (major again: it sleeps until about 306 000 + 300 000 = 606 000).
        var p1 = Add(m, "p1", layout, 0, R(Base), R(Base + Page));
        // p2 starts at 400 000, while p1 sleeps on page 1: page 0 is cached by then → minor.
        var p2 = Add(m, "p2", layout, 400_000, R(Base));

        RunUntilAccesses(m, p2, 1);
        Assert.That(Proc(m, p1).State, Is.EqualTo(ProcessState.SleepingIo), "p1 still waits for page 1");
        int pfn = PfnAt(m, p2, Base);
        Assert.That(PfnAt(m, p1, Base), Is.EqualTo(pfn), "both map the one page-cache page");
        Assert.That(m.Kernel.Zone.Frames[pfn].MapCount, Is.EqualTo(2));
        Assert.That(Mm(m, p2).Mm.Struct.RssFile, Is.EqualTo(1UL));

        m.Run();
        Assert.That(Stats(m, p1).MajFlt, Is.EqualTo(2));
        Assert.That(Stats(m, p1).MinFlt, Is.EqualTo(0));
        Assert.That(Stats(m, p2).MajFlt, Is.EqualTo(0));
        Assert.That(Stats(m, p2).MinFlt, Is.EqualTo(1));
        Assert.That(Counter(m, "pgfault"), Is.EqualTo(3));
        Assert.That(Counter(m, "pgmajfault"), Is.EqualTo(2));
        Assert.That(Counter(m, "ecsmem_pagecache_hit"), Is.EqualTo(1));
        Assert.That(Counter(m, "ecsmem_pagecache_miss"), Is.EqualTo(2));
        Assert.That(Counter(m, "pgpgin"), Is.EqualTo(2 * 4), "two 4 KiB reads, in kB");
        // Both exited: the file pages stay in the page cache, unmapped.
        Assert.That(m.Kernel.PageCache.Count, Is.EqualTo(2));
        Assert.That(m.Kernel.Zone.Frames[pfn].MapCount, Is.EqualTo(0));
    }

    [Test]
    public void MajorFaultSleepsForTheDiskLatencyWhileAnotherProcessRuns()
    {
        using var m = new SimMachine(Options());
        int file = m.Kernel.Files.Intern("/data/big");
        var reader = Add(m, "reader", mm => Mmap(mm, Base, 1, Prot.Read, MapFlags.Private, file), 0, R(Base));
        var writer = Add(m, "writer", Anon(Base, 4), 0, W(Base), W(Base + Page), W(Base + (2 * Page)), W(Base + (3 * Page)));
        m.Run();

        // The reader runs first (pid order): switch_mm 5000 cycles (latency.context_switch), then a walk that
        // stops at the empty root entry (1 level × 20 cycles, latency.walk_level) and faults at t = 5020. The read
        // takes 300 000 cycles (latency.major_fault), so the page arrives at t = 305 020.
        const ulong ioDone = 5000 + 20 + 300_000;
        var w = Proc(m, writer);
        Assert.That(w.State, Is.EqualTo(ProcessState.Exited));
        Assert.That(w.EndTime, Is.LessThan(ioDone), "the writer ran and finished while the reader slept");
        // With nothing left to run the CPU idles exactly from the writer's exit to the I/O completion.
        Assert.That(m.Access.IdleCycles, Is.EqualTo((long)(ioDone - w.EndTime)));
        Assert.That(Proc(m, reader).EndTime, Is.GreaterThan(ioDone));
        Assert.That(Stats(m, reader).IoWaitCycles, Is.EqualTo(300_000));
        Assert.That(Stats(m, reader).MajFlt, Is.EqualTo(1));
        Assert.That(Stats(m, writer).MinFlt, Is.EqualTo(4));
        Assert.That(Counter(m, "pgmajfault"), Is.EqualTo(1));
        Assert.That(Counter(m, "pgfault"), Is.EqualTo(5));
    }

    [Test]
    public void StackGrowsDownWithinTheRlimitAndBeyondItIsSigsegv()
    {
        using var m = new SimMachine(Options());
        const ulong top = 0x7000_0000;
        var p = Add(m, "p", mm =>
        {
            mm.Mm.StackRlimit = 8 * Page;
            long r = mm.Mm.MmapRegion(top - (4 * Page), 4 * Page, VmFlags.StackDefault, VmaKind.Stack, -1, (top - (4 * Page)) >> Pte.PageShift, null);
            Assert.That(r, Is.EqualTo((long)(top - (4 * Page))));
        }, 0,
            W(top - 8),                    // inside the 4-page stack
            W(top - (4 * Page) - 8),       // just below: grow to 5 pages
            W(top - (8 * Page) + 8),       // grow to exactly 8 pages = the rlimit: still allowed
            W(top - (9 * Page) + 8));      // 9 pages would exceed the rlimit: SIGSEGV
        m.Run();

        Assert.That(Stats(m, p).Accesses, Is.EqualTo(3));
        Assert.That(Stats(m, p).StackGrowths, Is.EqualTo(2));
        Assert.That(Counter(m, "ecsmem_stack_growth"), Is.EqualTo(2));
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Killed));
        Assert.That(Proc(m, p).ExitSignal, Is.EqualTo(11));
        Assert.That(Counter(m, "pgfault"), Is.EqualTo(3));
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(3));
    }

    [Test]
    public void StackVmaStartFollowsTheGrowth()
    {
        using var m = new SimMachine(Options());
        const ulong top = 0x7000_0000;
        var p = Add(m, "p", mm =>
        {
            mm.Mm.MmapRegion(top - (4 * Page), 4 * Page, VmFlags.StackDefault, VmaKind.Stack, -1, (top - (4 * Page)) >> Pte.PageShift, null);
        }, 0, W(top - (6 * Page) + 100));
        RunUntilAccesses(m, p, 1);
        var vmas = Mm(m, p).Mm.Vmas;
        Assert.That(vmas[vmas.FindVma(top - 1)].Start, Is.EqualTo(top - (6 * Page)));
        Assert.That(Mm(m, p).Mm.Struct.StackVm, Is.EqualTo(6UL));
    }

    [Test]
    public void ASecondFaultOnAPageStillBeingReadWaitsForTheRead()
    {
        using var m = new SimMachine(Options());
        int file = m.Kernel.Files.Intern("/lib/shared.so");
        Action<Systems.Kernel.MmState> layout = mm => Mmap(mm, Base, 1, Prot.Read, MapFlags.Private, file);
        var p1 = Add(m, "p1", layout, 0, R(Base));
        var p2 = Add(m, "p2", layout, 10_000, R(Base));
        m.Run();

        // p1 faults at 5000 (switch) + 20 (one walk level) = 5020 and its read completes at 5020 + 300 000 =
        // 305 020. p2 starts at 10 000, faults at 10 000 + 5000 + 20 = 15 020, finds the page cached but still
        // locked for p1's read, and sleeps until 305 020: a minor fault that waited 305 020 − 15 020 = 290 000 cycles.
        Assert.That(Stats(m, p2).IoWaitCycles, Is.EqualTo(305_020 - 15_020));
        Assert.That(Proc(m, p2).EndTime, Is.GreaterThan(305_020UL));
        Assert.That(Stats(m, p2).MinFlt, Is.EqualTo(1));
        Assert.That(Stats(m, p2).MajFlt, Is.EqualTo(0));
        Assert.That(Stats(m, p1).MajFlt, Is.EqualTo(1));
        Assert.That(Counter(m, "pgmajfault"), Is.EqualTo(1));
        Assert.That(Counter(m, "ecsmem_pagecache_hit"), Is.EqualTo(1));
        Assert.That(Counter(m, "pgpgin"), Is.EqualTo(4), "one read from disk");
    }

    [Test]
    public void WritesToAPrivateFileMappingCopyThePageCachePage()
    {
        // One page per fault is the point here: readahead and fault-around off (ReadaheadTests covers them).
        using var m = new SimMachine(Options() with { FaultAroundBytes = 4096, ReadAheadKb = 0 });
        int file = m.Kernel.Files.Intern("/etc/config");
        var p = Add(m, "p", mm => Mmap(mm, Base, 2, Prot.Read | Prot.Write, MapFlags.Private, file), 0,
            R(Base),          // major: page 0 read into the page cache, mapped read-only
            W(Base),          // present read-only file page in a private mapping: do_wp_page copies it (minor)
            W(Base + Page));  // page 1 not cached: one major fault reads it and copies it (do_cow_fault)

        RunUntilAccesses(m, p, 1);
        int cached = PfnAt(m, p, Base);
        ulong content = m.Kernel.Zone.Frames[cached].ContentToken;
        Assert.That(Mm(m, p).Mm.Struct.RssFile, Is.EqualTo(1UL));

        RunUntilAccesses(m, p, 2);
        int copy = PfnAt(m, p, Base);
        Assert.That(copy, Is.Not.EqualTo(cached));
        Assert.That(m.Kernel.Zone.Frames[copy].IsAnon, Is.True);
        Assert.That(m.Kernel.Zone.Frames[copy].ContentToken, Is.EqualTo(content), "the copy starts as the file's data");
        Assert.That(m.Kernel.Zone.Frames[cached].MapCount, Is.EqualTo(0), "the page-cache page is no longer mapped here");
        Assert.That(m.Kernel.PageCache.Find(file, 0), Is.EqualTo(cached), "but stays cached");
        Assert.That((Mm(m, p).Mm.Struct.RssFile, Mm(m, p).Mm.Struct.RssAnon), Is.EqualTo((0UL, 1UL)));

        RunUntilAccesses(m, p, 3);
        int copy1 = PfnAt(m, p, Base + Page);
        int cached1 = m.Kernel.PageCache.Find(file, 1);
        Assert.That(cached1, Is.GreaterThanOrEqualTo(0));
        Assert.That(copy1, Is.Not.EqualTo(cached1));
        Assert.That(m.Kernel.Zone.Frames[copy1].ContentToken, Is.EqualTo(m.Kernel.Zone.Frames[cached1].ContentToken));
        Assert.That(new Pte(Mm(m, p).Tables.Lookup(Base + Page)).Writable, Is.True);

        m.Run();
        // Faults: read (major), copy (minor), read+copy of page 1 (one major).
        Assert.That(Counter(m, "pgfault"), Is.EqualTo(3));
        Assert.That(Counter(m, "pgmajfault"), Is.EqualTo(2));
        Assert.That(Stats(m, p).MajFlt, Is.EqualTo(2));
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(1));
        Assert.That(Counter(m, "ecsmem_cow_copy"), Is.EqualTo(2));
    }
}
