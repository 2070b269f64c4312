using EcsMem.Systems.Swap;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// SwapArea's slot allocator against Linux 6.18's cluster allocator (mm/swapfile.c, rotational device: one global
/// next slot): expected slots worked out by hand from the rules, and the pattern recorded on the real kernel (a
/// program's pagemap under a cgroup v1 limit: when the cluster it was filling ran out, its next pages took the free
/// slots 3, 4 and 9 of cluster 0, then slot 12,800, the start of a fresh cluster).
/// </summary>
public class SwapClusterAllocTests
{
    private static int[] Take(SwapArea a, int n)
    {
        var slots = new int[n];
        for (int i = 0; i < n; i++)
            slots[i] = a.GetSwapPage();
        return slots;
    }

    /// <summary>Frees a slot GetSwapPage handed out (swap cache dropped with no PTE reference left).</summary>
    private static void Free(SwapArea a, int slot) => a.SetCached(slot, false);

    [Test]
    public void Cluster_zero_starts_after_the_header_and_fills_before_a_free_cluster()
    {
        var a = new SwapArea(4 * SwapArea.SwapfileCluster); // clusters 0..3; cluster 0 holds the header
        int[] first = Take(a, 511);
        Assert.That(first, Is.EqualTo(Enumerable.Range(1, 511).ToArray()));
        Assert.That(a.GetSwapPage(), Is.EqualTo(512), "cluster 0 full: the first free cluster, from its start");
    }

    [Test]
    public void A_full_cluster_is_followed_by_the_holes_of_a_nonfull_one_then_a_free_cluster()
    {
        var a = new SwapArea(4 * SwapArea.SwapfileCluster);
        Take(a, 511 + 100); // cluster 0 full, cluster 1 current at 612
        foreach (int s in new[] { 3, 4, 9 })
            Free(a, s); // cluster 0 goes to the nonfull list
        int[] rest = Take(a, 1023 - 612 + 1); // the global next runs on to the end of cluster 1
        Assert.That(rest[0], Is.EqualTo(612));
        Assert.That(rest[^1], Is.EqualTo(1023));
        Assert.That(Take(a, 4), Is.EqualTo(new[] { 3, 4, 9, 1024 }));
    }

    [Test]
    public void A_partial_last_cluster_is_nonfull_from_the_start_and_holes_in_later_words_are_found_in_order()
    {
        // 600 slots: cluster 1 holds 512..599 only (the tail past the area counts as used), so it starts on the nonfull
        // list, and cluster 0, full and then holed, joins that list behind it. The free-slot search reads 64 slots a
        // word: cluster 1 from its start, then cluster 0's holes at 70 (its second word) and 130 (its third), in order.
        var a = new SwapArea(600);
        Take(a, 511);
        Free(a, 130);
        Free(a, 70);
        int[] cluster1 = Take(a, 600 - 512);
        Assert.That(cluster1, Is.EqualTo(Enumerable.Range(512, 600 - 512).ToArray()));
        Assert.That(Take(a, 2), Is.EqualTo(new[] { 70, 130 }));
        Assert.That(a.GetSwapPage(), Is.EqualTo(0), "all 599 usable slots taken");
        Free(a, 598);
        Assert.That(a.GetSwapPage(), Is.EqualTo(598), "the one hole, one slot before the area's end");
    }

    [Test]
    public void A_hole_behind_the_global_next_is_not_taken_while_its_cluster_has_room_ahead()
    {
        var a = new SwapArea(4 * SwapArea.SwapfileCluster);
        Take(a, 10); // slots 1..10
        Free(a, 5);
        Assert.That(Take(a, 2), Is.EqualTo(new[] { 11, 12 }));
    }

    [Test]
    public void An_emptied_cluster_goes_to_the_tail_of_the_free_list()
    {
        var a = new SwapArea(4 * SwapArea.SwapfileCluster);
        int[] slots = Take(a, 511 + 512); // clusters 0 and 1 full
        foreach (int s in slots.Where(s => s >= 512))
            Free(a, s); // cluster 1 empty: appended after clusters 2 and 3
        Assert.That(a.GetSwapPage(), Is.EqualTo(1024));
        Take(a, 511);
        Assert.That(a.GetSwapPage(), Is.EqualTo(1536));
        Take(a, 511);
        Assert.That(a.GetSwapPage(), Is.EqualTo(512));
        Assert.That(a.UsedPages, Is.EqualTo(511 + 1024 + 1));
    }

    [Test]
    public void A_full_area_returns_zero_and_a_freed_slot_is_found_again()
    {
        var a = new SwapArea(SwapArea.SwapfileCluster + 100); // a partial last cluster (its tail counts as used)
        int[] all = Take(a, a.UsablePages);
        Assert.That(all.Distinct().Count(), Is.EqualTo(a.UsablePages));
        Assert.That(all.Min(), Is.EqualTo(1));
        Assert.That(all.Max(), Is.EqualTo(SwapArea.SwapfileCluster + 99));
        Assert.That(a.GetSwapPage(), Is.EqualTo(0));
        Free(a, 42);
        Assert.That(a.GetSwapPage(), Is.EqualTo(42));
    }
}
