using EcsMem.Components;

namespace EcsMem.Tests.AddressSpace;

public class PteTests
{
    [Test]
    public void MakePlacesPfnInBits12To51AndKeepsProtection()
    {
        // 0x12345 << 12 = 0x12345000; present|rw|user = 0x7; NX = 1 << 63.
        var pte = Pte.Make(0x12345, Pte.PresentBit | Pte.RwBit | Pte.UserBit | Pte.NxBit);
        Assert.That(pte.Value, Is.EqualTo(0x8000_0000_1234_5007UL));
        Assert.That(pte.Pfn, Is.EqualTo(0x12345UL));
        Assert.That(pte.Present && pte.Writable && pte.User, Is.True);
        Assert.That(pte.Executable, Is.False);
        Assert.That(pte.IsSwap, Is.False);
    }

    [Test]
    public void DirtyAndCowBitsSitAtTheirX86Positions()
    {
        var pte = new Pte(0x8000_0000_1234_5007UL);
        // Dirty = bit 6 (0x40) plus the soft-dirty software bit 11 (0x800).
        Assert.That(pte.MkDirty().Value, Is.EqualTo(0x8000_0000_1234_5847UL));
        // COW: RW (bit 1) cleared, software bit 10 (0x400) set: 0x007 -> 0x405.
        Assert.That(pte.MkCow().Value, Is.EqualTo(0x8000_0000_1234_5405UL));
        Assert.That(pte.MkCow().MkWrite().Value, Is.EqualTo(pte.Value));
        Assert.That(pte.MkYoung().Accessed, Is.True);
        Assert.That(pte.MkYoung().MkOld().Value, Is.EqualTo(pte.Value));
    }

    [Test]
    public void PfnRoundTripsAcrossTheWhole40BitField()
    {
        var rng = new SplitMix64(7);
        for (int i = 0; i < 1000; i++)
        {
            ulong pfn = rng.Next() & ((1UL << 40) - 1);
            ulong prot = rng.Next() & Pte.ProtMask;
            var pte = Pte.Make(pfn, prot);
            Assert.That(pte.Pfn, Is.EqualTo(pfn));
            Assert.That(pte.Value & Pte.ProtMask, Is.EqualTo(prot));
        }
    }

    [Test]
    public void SwapEntryEncodingMatchesTheHandComputedValue()
    {
        // type 3 in bits 59..63: 3 << 59 = 0x1800000000000000.
        // offset 0x1234 inverted within 50 bits, shifted to bit 9:
        // (~0x1234 & (2^50-1)) << 9 = 0x07ffffffffdb9600. Together 0x1fffffffffdb9600.
        var e = new SwapEntry(3, 0x1234);
        Assert.That(e.ToPteValue(), Is.EqualTo(0x1FFF_FFFF_FFDB_9600UL));
        var pte = e.ToPte();
        Assert.That(pte.Present, Is.False);
        Assert.That(pte.IsSwap, Is.True);
        Assert.That(pte.ToSwapEntry(), Is.EqualTo(e));
    }

    [Test]
    public void SwapEntriesRoundTripAndNeverLookPresent()
    {
        var rng = new SplitMix64(11);
        for (int i = 0; i < 2000; i++)
        {
            uint type = (uint)rng.Below(SwapEntry.MaxSwapFiles);
            ulong offset = rng.Next() & SwapEntry.MaxOffset;
            ulong v = new SwapEntry(type, offset).ToPteValue();
            Assert.That(v & (Pte.PresentBit | Pte.ProtNoneBit), Is.Zero);
            // Decode by definition: type = top 5 bits, offset = inverted bits 9..58.
            Assert.That((uint)(v >> 59), Is.EqualTo(type));
            Assert.That(~(v >> 9) & SwapEntry.MaxOffset, Is.EqualTo(offset));
            Assert.That(SwapEntry.FromPteValue(v), Is.EqualTo(new SwapEntry(type, offset)));
        }
    }

    [Test]
    public void SwapEntryRejectsOutOfRangeFields()
    {
        Assert.That(() => new SwapEntry(32, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new SwapEntry(0, 1UL << 50), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void PageProtFollowsX86ProtectionMap()
    {
        const ulong basic = Pte.PresentBit | Pte.UserBit | Pte.AccessedBit;
        // Private writable: read-only PTE so the first write copies (PAGE_COPY), not executable.
        Assert.That(Pte.ProtFromVmFlags(VmFlags.Read | VmFlags.Write, PagingMode.X86_64), Is.EqualTo(basic | Pte.NxBit));
        // Shared writable: RW in the PTE.
        Assert.That(Pte.ProtFromVmFlags(VmFlags.Read | VmFlags.Write | VmFlags.Shared, PagingMode.X86_64), Is.EqualTo(basic | Pte.RwBit | Pte.NxBit));
        // Executable: NX clear.
        Assert.That(Pte.ProtFromVmFlags(VmFlags.Read | VmFlags.Exec, PagingMode.X86_64), Is.EqualTo(basic));
        // PROT_NONE: not present, PROTNONE marker.
        Assert.That(Pte.ProtFromVmFlags(VmFlags.MayRead, PagingMode.X86_64), Is.EqualTo(Pte.ProtNoneBit | Pte.AccessedBit));
        // 2-level 32-bit paging has no NX bit: the same areas, executable.
        Assert.That(Pte.ProtFromVmFlags(VmFlags.Read | VmFlags.Write, PagingMode.X86_32), Is.EqualTo(basic));
        Assert.That(Pte.ProtFromVmFlags(VmFlags.Read | VmFlags.Write | VmFlags.Shared, PagingMode.X86_32), Is.EqualTo(basic | Pte.RwBit));
        Assert.That(Pte.ProtFromVmFlags(VmFlags.Read | VmFlags.Exec, PagingMode.X86_32), Is.EqualTo(basic));
        Assert.That(PagingMode.X86_32.HasNx, Is.False);
        Assert.That(PagingMode.X86_64.HasNx && PagingMode.X86_64_5Level.HasNx, Is.True);
    }

    [Test]
    public void PagingModesSplitAddressesAsTheSeedDescribes()
    {
        PagingMode m32 = PagingMode.X86_32;
        Assert.That(m32.EntriesPerTable, Is.EqualTo(1024));
        Assert.That(m32.VirtualAddressBits, Is.EqualTo(32));
        // 0xBFFFF123: directory index = top 10 bits = 0x2FF, table index = next 10 = 0x3FF.
        Assert.That(m32.Index(0xBFFF_F123, 1), Is.EqualTo(0x2FF));
        Assert.That(m32.Index(0xBFFF_F123, 0), Is.EqualTo(0x3FF));

        PagingMode m64 = PagingMode.X86_64;
        Assert.That(m64.VirtualAddressBits, Is.EqualTo(48));
        Assert.That(m64.TaskSize, Is.EqualTo(0x7FFF_FFFF_F000UL));
        // 0x7ffffffde000: PGD = bits 39..47 = 0xFF, PUD = 0x1FF, PMD = 0x1FF, PTE = 0x1DE.
        Assert.That(m64.Index(0x7FFF_FFFD_E000, 3), Is.EqualTo(0xFF));
        Assert.That(m64.Index(0x7FFF_FFFD_E000, 2), Is.EqualTo(0x1FF));
        Assert.That(m64.Index(0x7FFF_FFFD_E000, 1), Is.EqualTo(0x1FF));
        Assert.That(m64.Index(0x7FFF_FFFD_E000, 0), Is.EqualTo(0x1DE));

        PagingMode m57 = PagingMode.X86_64_5Level;
        Assert.That(m57.VirtualAddressBits, Is.EqualTo(57));
        Assert.That(m57.TaskSize, Is.EqualTo(0x00FF_FFFF_FFFF_F000UL));
        Assert.That(PagingMode.Parse("la57"), Is.SameAs(m57));
        Assert.That(PagingMode.Parse("nonsense"), Is.Null);
    }

    [Test]
    public void NeedsFlushFollowsX86PteNeedsFlush()
    {
        const ulong P = Pte.PresentBit, Rw = Pte.RwBit, U = Pte.UserBit, A = Pte.AccessedBit, D = Pte.DirtyBit;
        ulong frame = 0x1234UL << Pte.PageShift;
        ulong rw = frame | P | Rw | U | A | D;
        // Not present before: nothing can be cached.
        Assert.That(Pte.NeedsFlush(0, rw), Is.False);
        Assert.That(Pte.NeedsFlush(frame | Pte.ProtNoneBit, rw), Is.False);
        // Same entry, or only the accessed bit or software bits differ.
        Assert.That(Pte.NeedsFlush(rw, rw), Is.False);
        Assert.That(Pte.NeedsFlush(rw, rw & ~A), Is.False);
        Assert.That(Pte.NeedsFlush(rw, rw | Pte.SoftDirtyBit | Pte.CowBit), Is.False);
        // Dirty set is fine, dirty or present cleared is not.
        Assert.That(Pte.NeedsFlush(rw & ~D, rw), Is.False);
        Assert.That(Pte.NeedsFlush(rw, rw & ~D), Is.True);
        Assert.That(Pte.NeedsFlush(rw, rw & ~P), Is.True);
        // RW and NX flush whichever way they change (x86 keeps them in flush_on_change).
        Assert.That(Pte.NeedsFlush(rw, rw & ~Rw), Is.True);
        Assert.That(Pte.NeedsFlush(rw & ~Rw, rw), Is.True);
        Assert.That(Pte.NeedsFlush(rw, rw | Pte.NxBit), Is.True);
        Assert.That(Pte.NeedsFlush(rw | Pte.NxBit, rw), Is.True);
        // Another frame always.
        Assert.That(Pte.NeedsFlush(rw, rw + Pte.PageSize), Is.True);
    }
}
