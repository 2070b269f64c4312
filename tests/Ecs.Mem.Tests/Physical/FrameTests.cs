using System.Runtime.CompilerServices;
using EcsMem.Components;

namespace EcsMem.Tests.Physical;

public class FrameTests
{
    [Test]
    public void FrameFitsInFortyBytes()
    {
        Assert.That(Unsafe.SizeOf<Frame>(), Is.LessThanOrEqualTo(40));
    }

    [Test]
    public void FreshFrameIsUnmappedWithOneReference()
    {
        var f = Frame.Fresh(42);
        Assert.That(f.Pfn, Is.EqualTo(42));
        Assert.That(f.RefCount, Is.EqualTo(1));
        Assert.That(f.MapCount, Is.EqualTo(0));
        Assert.That(f.Mapping, Is.EqualTo(-1));
        Assert.That(f.BuddyOrder, Is.EqualTo(-1));
        Assert.That(f.IsAnon, Is.False);
    }

    [Test]
    public void FlagsAreDistinctBitsAndHasNeedsAllOfThem()
    {
        var all = Enum.GetValues<FrameFlags>().Where(v => v != FrameFlags.None).ToArray();
        uint seen = 0;
        foreach (var flag in all)
        {
            uint bit = (uint)flag;
            Assert.That(bit & (bit - 1), Is.EqualTo(0u), $"{flag} is one bit");
            Assert.That(seen & bit, Is.EqualTo(0u), $"{flag} is not shared");
            seen |= bit;
        }

        var f = Frame.Fresh(0);
        f.Flags = FrameFlags.Anon | FrameFlags.Dirty;
        Assert.That(f.IsAnon, Is.True);
        Assert.That(f.Has(FrameFlags.Dirty), Is.True);
        Assert.That(f.Has(FrameFlags.Dirty | FrameFlags.Lru), Is.False);
    }
}
