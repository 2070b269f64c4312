using EcsMem.Simulation;
using EcsMem.Systems.Memcontrol;
using EcsMem.Systems.Rcu;
using EcsMem.Tests.Memcontrol;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Rcu;

/// <summary>
/// call_rcu in simulated time (kernel/rcu/tree.c) and the page-table free it defers (tlb_remove_table_rcu →
/// pagetable_free → __memcg_kmem_uncharge_page → obj_cgroup_uncharge_pages → refill_stock, mm/memcontrol.c). Expected
/// figures by hand from those rules: a stock above MEMCG_CHARGE_BATCH (64) pages is drained to the page counter.
/// </summary>
public class RcuCallbacksTests
{
    [Test]
    public void A_callback_runs_when_its_grace_period_ends_and_not_before()
    {
        var env = new SimEnvironment();
        var rcu = new RcuCallbacks(env);
        var ran = new List<(string Name, ulong At)>();
        env.Clock.AdvanceTo(1_000);
        Assert.That(rcu.CallRcu(6_450_000, () => ran.Add(("tables", env.EventTime))), Is.EqualTo(6_451_000UL));
        env.Clock.AdvanceTo(2_000);
        Assert.That(rcu.CallRcu(100, () => ran.Add(("cred", env.EventTime))), Is.EqualTo(2_100UL));
        env.Clock.AdvanceTo(6_450_999);
        env.DispatchDueEvents();
        Assert.That(ran, Is.EqualTo(new[] { ("cred", 2_100UL) }), "the later call's shorter grace period ends first");
        Assert.That(rcu.Pending, Is.EqualTo(1));
        env.Clock.AdvanceTo(6_451_000);
        env.DispatchDueEvents();
        Assert.That(ran, Is.EqualTo(new[] { ("cred", 2_100UL), ("tables", 6_451_000UL) }));
        Assert.That((rcu.Pending, rcu.Invoked), Is.EqualTo((0, 2L)));
    }

    [Test]
    public void Nothing_is_registered_until_the_first_call()
    {
        var env = new SimEnvironment();
        var rcu = new RcuCallbacks(env);
        Assert.That(env.Events.Count, Is.Zero);
        Assert.That(env.KindName(0), Is.EqualTo("#0"), "no event kind yet: a machine that defers nothing is unchanged");
        rcu.CallRcu(1, () => { });
        Assert.That(env.KindName(0), Is.EqualTo("rcu_callback"));
    }

    [Test]
    public void Freed_page_tables_leave_kmem_at_once_and_the_usage_through_the_cpus_stock()
    {
        // A group whose one process has not started yet (its exec's charges are made, nothing is stocked on CPU 0).
        using SimMachine m = MemcgTests.Build("machine: {ram: 64M, swap: 0}\ncgroups:\n  - {name: a}\n" +
            "processes:\n  - name: p\n    cgroup: a\n    start: 1000000000\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"seq:count=1,base=" + MemcgTests.Base + ",pages=1\"}\n");
        MemcgController mc = m.Kernel.Memcg!;
        MemCgroup a = mc.Find("a");
        long usage0 = a.Usage, kmem0 = a.Kmem;
        int stock0 = mc.StockOn(0, a);
        Assert.That(stock0, Is.EqualTo(62), "the exec's charges took a batch of 64 pages and used 2 (page tables)");
        mc.MemcgKmemChargePages(a, 27);
        Assert.That((a.Usage, a.Kmem), Is.EqualTo((usage0 + 27, kmem0 + 27)), "forced charge: not through the stock");
        ulong due = m.Kernel.Rcu.CallRcu(1_000, () => mc.MemcgKmemUnchargePages(a, 27, cpu: 0));
        Assert.That(a.Kmem, Is.EqualTo(kmem0 + 27), "charged while the grace period runs");
        m.Env.Clock.AdvanceTo(due);
        m.Env.DispatchDueEvents();
        // One refill_stock a page into CPU 0's 62: at the 3rd page the stock holds 65 > 64 and is drained (65 pages off
        // the counter), the other 24 stay stocked: usage0 + 27 - 65 = usage0 - 38, kmem back.
        Assert.That((a.Kmem, mc.StockOn(0, a), a.Usage), Is.EqualTo((kmem0, 24, usage0 - 38)));
        // 54 more: 24 + 41 = 65 drains again (usage0 - 38 + 54 - 65), 13 left in the stock.
        mc.MemcgKmemChargePages(a, 54);
        mc.MemcgKmemUnchargePages(a, 54, cpu: 0);
        Assert.That((a.Kmem, mc.StockOn(0, a), a.Usage), Is.EqualTo((kmem0, 13, usage0 - 49)));
    }
}
