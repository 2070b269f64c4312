using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Simulation;
using EcsMem.Systems.Vmscan;

namespace EcsMem.Tests.Simulation;

/// <summary>
/// The late-work guard (SimEnvironment): an item added to a tick's batch after the batch's last declared consumer has
/// run is dropped unread at EndTick (session 14: memory.high's reclaim request, queued at fault-install after swap-out).
/// The guard names the batch, the producer and the tick.
/// </summary>
public class LateWorkGuardTests
{
    private record struct Job(int Value);

    /// <summary>Adds one <see cref="Job"/> of <paramref name="value"/> per tick; with <see cref="Kept"/>, to a batch it was handed.</summary>
    private sealed class Producer(string name, int value) : ISystem
    {
        public string Name => name;
        public WorkBatch<Job>? Kept { get; set; }
        public void Update(SimEnvironment env) => (Kept ?? env.Work<Job>()).Add(new Job(value));
    }

    private sealed class Consumer(List<int> seen) : ISystem
    {
        public string Name => "consumer";
        public void DeclareConsumes(WorkConsumers c) => c.Of<Job>();
        public void Update(SimEnvironment env)
        {
            foreach (ref readonly Job j in env.WorkItems<Job>())
                seen.Add(j.Value);
        }
    }

    /// <summary>Takes this tick's batch before the consumer runs and hands it to a later producer, which keeps it.</summary>
    private sealed class Taker(Producer late) : ISystem
    {
        public string Name => "taker";
        public void Update(SimEnvironment env) => late.Kept = env.Work<Job>();
    }

    private sealed class OnEvent : IEventHandler
    {
        public void Handle(SimEnvironment env, in SimEvent ev) => env.Work<Job>().Add(new Job(2));
    }

    [Test]
    public void AnAddAfterTheConsumerRanThrowsNamingTheBatchTheProducerAndTheTick()
    {
        var seen = new List<int>();
        var env = new SimEnvironment { ThrowOnLateWork = true };
        env.Pipeline.Add(new Producer("early", 1)).Add(new Consumer(seen)).Add(new Producer("late", 3));
        env.Clock.AdvanceTo(500);
        var e = Assert.Throws<LateWorkException>(env.RunTick);
        Assert.That(seen, Is.EqualTo(new[] { 1 }), "the consumer ran before the late add");
        Assert.That(e!.Message, Does.Contain("Job added by 'late' at tick 0 (t=500)").And.Contain("last consumer 'consumer'"));
        Assert.That(env.LateWork, Is.EqualTo(e.Message));
    }

    [Test]
    public void UnguardedTheLateItemsAreLostAndRecorded()
    {
        var seen = new List<int>();
        var env = new SimEnvironment { ThrowOnLateWork = false };
        env.Pipeline.Add(new Producer("early", 1)).Add(new Consumer(seen)).Add(new Producer("late", 3));
        for (int i = 0; i < 3; i++)
            env.RunTick();
        // What the guard is for: the consumer never sees a 3; each tick counts the late add and, at EndTick, its item unread.
        Assert.That(seen, Is.EqualTo(new[] { 1, 1, 1 }));
        Assert.That(env.LateWorkCount, Is.EqualTo(6));
        Assert.That(env.LateWork, Does.StartWith("late work: Job added by 'late' at tick 0"));
    }

    [Test]
    public void ItemsAddedToAKeptBatchAfterTheConsumerReadItAreCaughtAtEndTick()
    {
        var seen = new List<int>();
        var env = new SimEnvironment { ThrowOnLateWork = true };
        var late = new Producer("keeper", 3);
        env.Pipeline.Add(new Taker(late)).Add(new Consumer(seen)).Add(late);
        var e = Assert.Throws<LateWorkException>(env.RunTick);
        Assert.That(e!.Message, Does.Contain("1 item(s) of Job unread at the end of tick 0").And.Contain("last consumer 'consumer'"));
        Assert.That(seen, Is.Empty);
    }

    [Test]
    public void WorkProducedByEventsAndEarlierSystemsIsNotReported()
    {
        var seen = new List<int>();
        var env = new SimEnvironment { ThrowOnLateWork = true };
        int kind = env.RegisterEventKind("job", new OnEvent());
        env.Pipeline.Add(new Producer("early", 1)).Add(new Consumer(seen));
        env.ScheduleAt(0, new SimEvent(kind, Entity.Null));
        env.ScheduleAt(10, new SimEvent(kind, Entity.Null));
        env.RunUntilIdle();
        env.Work<Job>().Add(new Job(4)); // between ticks: the next tick's work
        env.RunTick();
        Assert.That(seen, Is.EqualTo(new[] { 2, 1, 2, 1, 4, 1 }));
        Assert.That(env.LateWorkCount, Is.Zero);
        Assert.That(env.LateWork, Is.Null);
    }

    /// <summary>Asks for one direct reclaim in the first tick it runs, from the end of the machine's pipeline.</summary>
    private sealed class LateReclaim : ISystem
    {
        private bool _done;
        public string Name => "late-reclaim";
        public void Update(SimEnvironment env)
        {
            if (!_done)
                env.Work<ReclaimRequest>().Add(new ReclaimRequest(true, 32, Entity.Null));
            _done = true;
        }
    }

    [Test]
    public void TheMachinesReclaimBatchIsGuardedAndTheCheckerReportsIt()
    {
        // The machine's own declarations: swap-out consumes the reclaim requests, so a system after it that queues one
        // (as memory.high's reclaim did from fault-install until session 14) is late work, and --check's invariants say so.
        const string yaml = "machine: {ram: 16M, swap: 0}\nprocesses:\n  - name: w\n    start: 0\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"seq:count=64,base=0x7f0000000000,pages=64,writes=1\"}\n" +
            "timeline:\n  - at: 0\n    process: w\n    mmap: {addr: 0x7f0000000000, length: 262144, prot: rw-, flags: private, fixed: true}\n";
        using var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "late.yaml"));
        m.Env.ThrowOnLateWork = false;
        Assert.That(InvariantChecker.Check(m), Is.Empty);
        m.Env.Pipeline.Add(new LateReclaim());
        m.Run();
        Assert.That(InvariantChecker.Check(m), Has.Some.Contains("late work: ReclaimRequest added by 'late-reclaim' at tick 0")
            .And.Some.Contains("last consumer 'swap-out'"));
    }
}
