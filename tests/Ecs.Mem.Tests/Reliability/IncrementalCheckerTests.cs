using EcsMem.Components;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// The incremental checker (<c>--check</c>): silent on consistent runs, whatever the full-check interval, and it
/// catches a corruption in the tick that made it, long before the next full check.
/// </summary>
public class IncrementalCheckerTests
{
    [TestCase("reduced-default", 1)]
    [TestCase("reduced-default", 1_000_000)]
    [TestCase("fork-timeline", 1_000_000)]
    [TestCase("swapping", 1_000_000)]
    [TestCase("swapping", 7)]
    [TestCase("oom", 1_000_000)]
    public void NoFalseAlarmOnConsistentRuns(string name, int fullEvery)
    {
        string yaml = ReliabilityScenarios.All.Single(s => s.Name == name).Yaml;
        using var m = ScenarioLoader.Build(ReliabilityScenarios.Parse(yaml));
        long ticks = m.RunIncrementallyChecked(fullEvery);
        Assert.That(m.Finished, Is.True);
        Assert.That(ticks, Is.GreaterThan(100));
    }

    /// <summary>The incremental check after every tick agrees with the full one: both silent on every tick of a swapping run.</summary>
    [Test]
    public void AgreesWithTheFullCheckTickByTick()
    {
        using var m = ScenarioLoader.Build(ReliabilityScenarios.Parse(ReliabilityScenarios.ForkTimeline));
        var inc = new IncrementalChecker(m, fullEvery: int.MaxValue);
        var full = new InvariantChecker(m.Kernel);
        Assert.That(inc.CheckFull(), Is.Empty);
        while (!m.Finished)
        {
            m.Env.RunTick();
            Assert.That(inc.CheckTick(), Is.Empty);
            Assert.That(full.Check(), Is.Empty);
        }
    }

    [Test]
    public void CheckingDoesNotChangeTheRun()
    {
        using var plain = ScenarioLoader.Build(ReliabilityScenarios.Parse(ReliabilityScenarios.Swapping));
        plain.Run();
        using var checkedRun = ScenarioLoader.Build(ReliabilityScenarios.Parse(ReliabilityScenarios.Swapping));
        checkedRun.RunIncrementallyChecked(fullEvery: 50);
        Assert.That(MachineDump.Of(checkedRun), Is.EqualTo(MachineDump.Of(plain)));
    }
}

/// <summary>
/// Corruptions injected through a test hook that runs inside a tick (after the systems, as a kernel bug would
/// leave them): the incremental checker, with no full check due for a million ticks, reports each after that
/// very tick.
/// </summary>
public class IncrementalCheckerCatchesCorruptionTests
{
    private SimMachine _m = null!;
    private IncrementalChecker _checker = null!;

    [SetUp]
    public void RunPartWay()
    {
        _m = ScenarioLoader.Build(ReliabilityScenarios.Parse(ReliabilityScenarios.Swapping));
        _checker = new IncrementalChecker(_m, fullEvery: 1_000_000);
        Assert.That(_checker.CheckFull(), Is.Empty);
        while (!_m.Finished && (_m.Env.Counters.Get("pswpin") < 20 || _m.Kernel.Swap.UsedPages < 20))
        {
            _m.Env.RunTick();
            Assert.That(_checker.AfterTick(), Is.Empty);
        }
        Assert.That(_m.Finished, Is.False);
    }

    [TearDown]
    public void Dispose() => _m.Dispose();

    /// <summary>
    /// Runs one tick with <paramref name="corrupt"/> applied at its end through the kernel's own dirty-set hook
    /// (what a buggy mutation point would do), then the incremental check of that tick.
    /// </summary>
    private IReadOnlyList<string> TickWith(Action<EcsMem.Systems.Kernel.Kernel> corrupt)
    {
        _m.Env.RunTick();
        corrupt(_m.Kernel);
        var v = _checker.AfterTick();
        Assert.That(_checker.FullChecks, Is.EqualTo(1), "only the initial full check ran");
        return v;
    }

    [Test]
    public void MapCountBumpedOnAFrameTheTickTouched()
    {
        var (_, _, pfn) = CorruptionTargets.ExclusiveMapping(_m.Kernel, anon: true);
        var v = TickWith(k =>
        {
            k.Dirty!.Frame(pfn);
            k.Zone.Frames[pfn].MapCount++;
        });
        Assert.That(v, Is.EqualTo(new[] { $"frame {pfn}: mapcount 2 but the reverse map holds 1 mappings" }));
    }

    [Test]
    public void PteClearedWithoutRmapOrRss()
    {
        var (mm, va, pfn) = CorruptionTargets.ExclusiveMapping(_m.Kernel, anon: true);
        ulong rss = 0, anon = 0, file = 0;
        var v = TickWith(k =>
        {
            rss = mm.Rss;
            anon = mm.Mm.Struct.RssAnon;
            file = mm.Mm.Struct.RssFile;
            k.Dirty!.Pte(mm, va);
            mm.Tables.Set(va, 0);
        });
        Assert.That(v, Is.EqualTo(new[]
        {
            $"frame {pfn}: reverse map names mm {mm.Id} va 0x{va:x}, whose PTE is 0x0",
            $"mm {mm.Id}: RSS {rss} (anon {anon} + file {file} + shmem 0) but {rss - 1} present PTEs map pages",
        }));
    }

    [Test]
    public void SwapPteDroppedWithoutSwapFree()
    {
        var (mm, va, slot) = CorruptionTargets.SwapPte(_m.Kernel);
        int count = 0;
        ulong ents = 0;
        var v = TickWith(k =>
        {
            count = k.Swap.Count(slot);
            ents = mm.Mm.Struct.SwapEnts;
            k.Dirty!.Pte(mm, va);
            mm.Tables.Set(va, 0);
        });
        Assert.That(v, Is.EqualTo(new[]
        {
            $"swap slot {slot}: swap_map count {count} but {count - 1} PTEs and shmem slots hold it",
            $"mm {mm.Id}: MM_SWAPENTS {ents} but {ents - 1} swap PTEs",
        }));
    }

    [Test]
    public void LeakedSwapSlotReference()
    {
        var (_, _, slot) = CorruptionTargets.SwapPte(_m.Kernel);
        int count = 0;
        var v = TickWith(k =>
        {
            count = k.Swap.Count(slot);
            k.Swap.SwapDuplicate(slot); // reports itself: SwapArea's hook
        });
        Assert.That(v, Is.EqualTo(new[] { $"swap slot {slot}: swap_map count {count + 1} but {count} PTEs and shmem slots hold it" }));
    }

    [Test]
    public void FrameFreedWhileMapped()
    {
        var (mm, va, pfn) = CorruptionTargets.ExclusiveMapping(_m.Kernel, anon: true);
        var v = TickWith(k =>
        {
            k.Dirty!.Pte(mm, va);
            k.Zone.FreeFrame(pfn, 0); // reports itself: Zone's hook
        });
        Assert.That(v, Does.Contain($"mm {mm.Id}: present PTE at 0x{va:x} maps free frame {pfn}"));
        Assert.That(v, Does.Contain($"frame {pfn}: free but mapcount 0, 1 reverse mappings"));
    }

    [Test]
    public void AllocatedFrameNobodyOwns()
    {
        int pfn = -1;
        var v = TickWith(k => pfn = k.Zone.AllocFrame(0));
        Assert.That(v, Is.EqualTo(new[] { $"frame {pfn}: leaked (allocated, but not a page table, not the zero page, not on the LRU, not cached and not mapped)" }));
    }

    [Test]
    public void RunStopsAtTheTickThatBrokeIt()
    {
        var (_, _, pfn) = CorruptionTargets.ExclusiveMapping(_m.Kernel, anon: true);
        int ticks = 0;
        var ex = Assert.Throws<InvariantViolationException>(() =>
        {
            while (!_m.Finished)
            {
                _m.Env.RunTick();
                if (++ticks == 3)
                {
                    _m.Kernel.Dirty!.Frame(pfn);
                    _m.Kernel.Zone.Frames[pfn].MapCount += 5;
                }
                if (_checker.AfterTick() is { Count: > 0 } v)
                    throw new InvariantViolationException(v, $"after tick {ticks}");
            }
        });
        Assert.That(ex!.Message, Does.Contain("after tick 3"));
    }
}
