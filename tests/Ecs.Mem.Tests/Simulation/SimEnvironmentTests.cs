using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Tests.Simulation;

public class SimEnvironmentTests
{
    private record struct Request(int Value);

    private sealed class Recorder(string name, List<string> log) : ISystem
    {
        public string Name => name;
        public void Update(SimEnvironment env) => log.Add($"{name}@{env.Now}:{env.Work<Request>().Count}");
    }

    /// <summary>Logs each call of its Update; declares that it acts only on the tick's batches.</summary>
    private sealed class WorkOnlyRecorder(string name, List<string> log) : ISystem
    {
        public string Name => name;
        public bool WorkOnly => true;
        public void Update(SimEnvironment env) => log.Add($"{name}@{env.Now}:{env.WorkCount<Request>()}");
    }

    private sealed class EnqueueOnEvent : IEventHandler
    {
        public void Handle(SimEnvironment env, in SimEvent ev) => env.Work<Request>().Add(new Request((int)ev.Arg0));
    }

    [Test]
    public void SystemsRunOncePerTickInRegistrationOrderOverThatTicksBatch()
    {
        var log = new List<string>();
        var env = new SimEnvironment();
        env.Pipeline.Add(new Recorder("fault", log)).Add(new Recorder("alloc", log)).Add(new Recorder("tlb-fill", log));
        int kind = env.RegisterEventKind("request", new EnqueueOnEvent());
        env.ScheduleAt(100, new SimEvent(kind, Entity.Null, 1));
        env.ScheduleAt(100, new SimEvent(kind, Entity.Null, 2));
        env.ScheduleAt(250, new SimEvent(kind, Entity.Null, 3));
        env.RunUntilIdle();
        // Tick 1 at time 100 sees both requests; tick 2 at 250 sees only the third (batches are per tick).
        Assert.That(log, Is.EqualTo(new[]
        {
            "fault@100:2", "alloc@100:2", "tlb-fill@100:2",
            "fault@250:1", "alloc@250:1", "tlb-fill@250:1",
        }));
        Assert.That(env.Ticks, Is.EqualTo(2));
        Assert.That(env.Now, Is.EqualTo(250UL));
    }

    [Test]
    public void AWorkOnlySystemRunsOnlyInTicksWithSomeBatch()
    {
        var log = new List<string>();
        var env = new SimEnvironment();
        env.Pipeline.Add(new Recorder("every", log)).Add(new WorkOnlyRecorder("work-only", log));
        // No event, no batch: the work-only system is left out. "every" rents the batch (Work<T>) from then on.
        env.RunTick();
        Assert.That(log, Is.EqualTo(new[] { "every@0:0", "work-only@0:0" }));

        log.Clear();
        var quiet = new SimEnvironment();
        quiet.Pipeline.Add(new WorkOnlyRecorder("work-only", log));
        int kind = quiet.RegisterEventKind("request", new EnqueueOnEvent());
        quiet.ScheduleAt(100, new SimEvent(kind, Entity.Null, 1));
        quiet.RunTick(); // at 0: nothing due, nothing rented
        quiet.Clock.AdvanceTo(100);
        quiet.RunTick(); // at 100: the event's request
        quiet.RunTick(); // nothing again
        Assert.That(log, Is.EqualTo(new[] { "work-only@100:1" }));
        Assert.That(quiet.Ticks, Is.EqualTo(3), "a tick is counted whatever ran in it");
    }

    [Test]
    public void InsertBeforePlacesASystemAndDuplicateNamesAreRejected()
    {
        var log = new List<string>();
        var env = new SimEnvironment();
        env.Pipeline.Add(new Recorder("a", log)).Add(new Recorder("c", log));
        env.Pipeline.InsertBefore("c", new Recorder("b", log));
        Assert.That(env.Pipeline.Systems.Select(s => s.Name), Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(() => env.Pipeline.Add(new Recorder("a", log)), Throws.ArgumentException);
        Assert.That(() => env.Pipeline.InsertBefore("zz", new Recorder("d", log)), Throws.ArgumentException);
    }

    [Test]
    public void BatchesAreRecycledAndSteadyStateTicksAllocateNothing()
    {
        var env = new SimEnvironment();
        var first = env.Work<Request>();
        for (int i = 0; i < 1000; i++) first.Add(new Request(i));
        env.EndTick();
        var second = env.Work<Request>();
        Assert.That(second, Is.SameAs(first), "the pool hands the same batch back");
        Assert.That(second.Count, Is.EqualTo(0), "and it comes back empty");
        env.EndTick();

        // The least of four windows of 25 ticks: a JIT tier-up can allocate once on this thread; a per-tick
        // allocation shows in every window.
        long least = long.MaxValue;
        for (int window = 0; window < 4; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int tick = 0; tick < 25; tick++)
            {
                var b = env.Work<Request>();
                for (int i = 0; i < 1000; i++) b.Add(new Request(i));
                env.EndTick();
            }
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.That(least, Is.EqualTo(0));
    }

    [Test]
    public void SchedulingInThePastOrAnUnknownKindFails()
    {
        var env = new SimEnvironment();
        int kind = env.RegisterEventKind("x", new EnqueueOnEvent());
        env.Clock.AdvanceTo(50);
        Assert.That(() => env.ScheduleAt(49, new SimEvent(kind, Entity.Null)), Throws.InvalidOperationException);
        Assert.That(() => env.ScheduleAt(60, new SimEvent(kind + 1, Entity.Null)), Throws.ArgumentException);
        Assert.That(() => env.Clock.AdvanceTo(10), Throws.InvalidOperationException);
    }

    [Test]
    public void CountersKeepRegistrationOrderAndSumIncrements()
    {
        var c = new CounterRegistry();
        var fault = c.Register("pgfault");
        var maj = c.Register("pgmajfault");
        Assert.That(c.Register("pgfault"), Is.EqualTo(fault));
        for (int i = 0; i < 7; i++) c.Increment(fault);
        c.Add(maj, 3);
        Assert.That(c.All().Select(kv => $"{kv.Key}={kv.Value}"), Is.EqualTo(new[] { "pgfault=7", "pgmajfault=3" }));
        Assert.That(c.Get("pgfault"), Is.EqualTo(7));
        Assert.That(c.Get("never"), Is.EqualTo(0));
        c.Reset();
        Assert.That(c[fault], Is.EqualTo(0));
    }
}
