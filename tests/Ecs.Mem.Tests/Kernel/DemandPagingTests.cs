using EcsMem.Components;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// The seed's closing question: after exec and mmap, is anything in memory? No: exec and mmap only build
/// VMAs; every page arrives at its first touch.
/// </summary>
public class DemandPagingTests
{
    private static int PresentPtes(MmState mm)
    {
        int n = 0;
        foreach (Vma v in mm.Mm.Vmas)
            for (ulong va = v.Start; va < v.End; va += Page)
                if (new Pte(mm.Tables.Lookup(va)).Present)
                    n++;
        return n;
    }

    [Test]
    public void NothingIsResidentAfterExecAndMmapAndEachFirstTouchAddsOnePage()
    {
        // One page per fault is the point here: readahead and fault-around off (ReadaheadTests covers them).
        using var m = new SimMachine(Options() with { FaultAroundBytes = 4096, ReadAheadKb = 0 });
        ulong mmapAt = 0, heap = 0, sp = 0, text = 0, data = 0, bss = 0;
        var touches = new List<MemoryAccess>();
        var p = m.AddProcess("prog", mm =>
        {
            var image = new ExecImage { TextSize = 3 * Page, DataSize = 2 * Page, BssSize = 2 * Page, FileId = m.Kernel.Files.Intern("/bin/prog") };
            ExecLayout.Build(mm.Mm, image);
            heap = mm.Mm.Struct.StartBrk;
            mm.Mm.DoBrk(heap + (2 * Page));
            mmapAt = (ulong)mm.Mm.DoMmap(0, 2 * Page, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
            sp = mm.Mm.Struct.StartStack;
            text = mm.Mm.Struct.StartCode;
            data = mm.Mm.Struct.StartData;
            bss = EcsMem.Systems.AddressSpace.Mm.PageAlign(mm.Mm.Struct.EndData);
        }, null!);
        touches.AddRange([
            X(text), X(text + Page),   // text pages from the page cache (file)
            R(data),                   // a data page read: the file page itself
            W(data + Page),            // a data page written: a private copy (one major fault, do_cow_fault)
            W(bss), W(heap), W(sp), W(mmapAt), // anonymous pages, written first
        ]);
        m.SetWorkload(p, Trace("prog", [.. touches]));

        MmState mmState = Mm(m, p);
        Assert.That(mmState.Mm.Vmas.Count, Is.GreaterThanOrEqualTo(6), "text, data, bss, heap, stack, mmap (+vdso)");
        Assert.That(mmState.Rss, Is.EqualTo(0UL));
        Assert.That(PresentPtes(mmState), Is.EqualTo(0));
        // Used frames: the zero page and this mm's pgd, nothing else.
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(1024 - 2));

        for (int i = 1; i <= touches.Count; i++)
        {
            RunUntilAccesses(m, p, i);
            Assert.That(mmState.Rss, Is.EqualTo((ulong)i), $"after touch {i}");
            Assert.That(PresentPtes(mmState), Is.EqualTo(i), $"present PTEs after touch {i}");
            Assert.That(PfnAt(m, p, touches[i - 1].Address), Is.GreaterThanOrEqualTo(0), $"touch {i} is mapped");
        }
        Assert.That(mmState.Mm.Struct.RssFile, Is.EqualTo(3UL), "two text pages and one data page");
        Assert.That(mmState.Mm.Struct.RssAnon, Is.EqualTo(5UL));
        m.Run();
        // Text, data read, data written: the three file pages were read from disk; the rest were minor.
        Assert.That(Stats(m, p).MajFlt, Is.EqualTo(4));
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(4));
    }
}
