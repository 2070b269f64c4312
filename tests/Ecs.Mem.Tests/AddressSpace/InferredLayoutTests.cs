using EcsMem.Components;
using EcsMem.Traces;

namespace EcsMem.Tests.AddressSpace;

public class InferredLayoutTests
{
    [Test]
    public void CreatesTwoMebibyteRegionsAndMergesThem()
    {
        var mm = new Mm(1, PagingMode.X86_64, new FileTable());
        var inf = new InferredLayout(mm);

        Assert.That(inf.EnsureMapped(0x40_1234, AccessKind.Instr), Is.True);
        Assert.That(Ranges(mm), Is.EqualTo(new[] { "400000-600000 r-x" }));
        Assert.That(inf.EnsureMapped(0x60_1000, AccessKind.Load), Is.True);
        Assert.That(inf.EnsureMapped(0x7F_F000, AccessKind.Store), Is.True);
        Assert.That(inf.Created, Is.EqualTo(2), "the store hit the block the load created");
        // The next data block merges with the previous one: still two VMAs.
        Assert.That(inf.EnsureMapped(0x80_0010, AccessKind.Modify), Is.True);
        Assert.That(Ranges(mm), Is.EqualTo(new[] { "400000-600000 r-x", "600000-a00000 rw-" }));
        // A store into the code block widens it instead of faulting.
        Assert.That(inf.EnsureMapped(0x40_0100, AccessKind.Store), Is.True);
        Assert.That(inf.Widened, Is.EqualTo(1));
        Assert.That(Ranges(mm)[0], Is.EqualTo("400000-600000 rwx"));
        // The top block is clipped at TASK_SIZE = 0x7ffffffff000.
        Assert.That(inf.EnsureMapped(0x7FFF_FFFF_E000, AccessKind.Store), Is.True);
        Assert.That(Ranges(mm)[^1], Is.EqualTo("7fffffe00000-7ffffffff000 rw-"));
        // Kernel addresses and the zero page are real faults.
        Assert.That(inf.EnsureMapped(0xFFFF_FFFF_FF60_0000, AccessKind.Instr), Is.False);
        Assert.That(inf.EnsureMapped(0x100, AccessKind.Load), Is.False);
    }

    [Test]
    public void NewBlocksAreClippedToTheGapBetweenNeighbours()
    {
        var mm = new Mm(1, PagingMode.X86_64, new FileTable());
        mm.DoMmap(0x1000_1000, 0x1000, Prot.Read, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0);
        var inf = new InferredLayout(mm);
        Assert.That(inf.EnsureMapped(0x1000_0800, AccessKind.Load), Is.True);
        Assert.That(inf.EnsureMapped(0x1000_3000, AccessKind.Store), Is.True);
        Assert.That(Ranges(mm), Is.EqualTo(new[] { "10000000-10001000 rw-", "10001000-10002000 r--", "10002000-10200000 rw-" }));
    }

    [Test]
    public void SteadyStateLookupsAllocateNothing()
    {
        var mm = new Mm(1, PagingMode.X86_64, new FileTable());
        var inf = new InferredLayout(mm);
        for (ulong a = 0; a < 64; a++)
        {
            inf.EnsureMapped(0x40_0000 + (a << 21), AccessKind.Load);
        }

        // Untimed passes of the same loop first: the runtime may allocate on this thread while it compiles the loop
        // (on-stack replacement, then tier-1 code installed later under load: 80 bytes seen once in a full suite run);
        // steady state is what the assertion is about. A lookup that allocated would cost every pass at least 100,000
        // allocations, so the least of three measured passes must be exactly zero.
        Lookups(inf);
        Lookups(inf);
        long least = long.MaxValue;
        for (int pass = 0; pass < 3; pass++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Lookups(inf);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.That(least, Is.Zero);
        Assert.That(inf.Cache.Hits + inf.Cache.Misses, Is.GreaterThanOrEqualTo(500_000));
    }

    private static void Lookups(InferredLayout inf)
    {
        for (int i = 0; i < 100_000; i++)
        {
            inf.EnsureMapped(0x40_0000 + ((ulong)(i & 63) << 21) + (ulong)i, AccessKind.Load);
        }
    }

    private static string[] Ranges(Mm mm)
    {
        var list = new List<string>();
        foreach (Vma v in mm.Vmas)
        {
            list.Add($"{v.Start:x}-{v.End:x} {((v.Flags & VmFlags.Read) != 0 ? 'r' : '-')}{((v.Flags & VmFlags.Write) != 0 ? 'w' : '-')}{((v.Flags & VmFlags.Exec) != 0 ? 'x' : '-')}");
        }

        return list.ToArray();
    }
}
