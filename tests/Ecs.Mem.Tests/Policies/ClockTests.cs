namespace EcsMem.Tests.Policies;

public class ClockTests
{
    private static readonly ulong[] Seq = Sim.Pages(1, 2, 3, 2, 4, 1, 5);

    [Test]
    public void ClockWithClearBitOnLoad()
    {
        // 3 frames, slots s0 s1 s2, bit in brackets, ^ = hand.
        // 1,2,3 load:  ^1[0] 2[0] 3[0]
        // 2 hit:       ^1[0] 2[1] 3[0]
        // 4: hand at 1, bit 0 → victim 1; 4 takes s0, hand → s1:  4[0] ^2[1] 3[0]
        // 1: 2 has bit 1 → clear, hand → s2; 3 bit 0 → victim 3; 1 takes s2, hand → s0:  ^4[0] 2[0] 1[0]
        // 5: 4 bit 0 → victim 4; 5 takes s0, hand → s1.
        // Faults: 1,2,3,4,1,5 = 6; victims 1,3,4.
        var (r, victims) = Sim.Run("clock", 3, Seq);
        Assert.That(victims, Is.EqualTo(Sim.Pages(1, 3, 4)));
        Assert.That(r.Faults, Is.EqualTo(6));
    }

    [Test]
    public void ClockWithSetBitOnLoad()
    {
        // 1,2,3 load:  ^1[1] 2[1] 3[1]
        // 2 hit:       unchanged (bit already set)
        // 4: clear 1, clear 2, clear 3, back at 1 with bit 0 → victim 1; 4[1] takes s0, hand → s1
        // 1: 2 bit 0 → victim 2; 1[1] takes s1, hand → s2
        // 5: 3 bit 0 → victim 3; 5[1] takes s2, hand → s0
        // Faults 6; victims 1,2,3 — the hit on 2 did not save it, because every page had a free pass.
        var (r, victims) = Sim.Run("clock-ref", 3, Seq);
        Assert.That(victims, Is.EqualTo(Sim.Pages(1, 2, 3)));
        Assert.That(r.Faults, Is.EqualTo(6));
    }
}
