using EcsMem.Ecs;
using EcsMem.Traces;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// Puts a reader in front of every process's workload that tells the <see cref="ProcessStatusTracker"/> when
/// the accesses run out. The access stage asks the workload for more only once every access it holds has
/// completed, and exits the process as soon as the answer is "none": so at that call the address space is
/// exactly as it is at exit, before exit_mmap frees it. Fork children are tapped as they are created.
/// The marks that trigger timeline operations ("after N accesses") move to the outer workload, which counts
/// completed accesses as before.
/// </summary>
public sealed class WorkloadEndTap : ITraceReader
{
    private readonly Workload _inner;
    private readonly Action _atEnd;
    private bool _ended;

    private WorkloadEndTap(Workload inner, Action atEnd)
    {
        _inner = inner;
        _atEnd = atEnd;
    }

    public string SourceName => _inner.SourceName;

    public int Read(Span<MemoryAccess> buffer)
    {
        // Whole runs of the inner workload's buffer at a time (a copy per access was ~8 % of a replay), never past
        // one of its marks, so a mark still fires at its exact access.
        int n = 0;
        while (n < buffer.Length)
        {
            ReadOnlySpan<MemoryAccess> run = _inner.Available;
            if (run.IsEmpty)
                break;
            int take = Math.Min(Math.Min(run.Length, buffer.Length - n), _inner.UntilMark);
            run[..take].CopyTo(buffer[n..]);
            _inner.AdvanceBy(take);
            n += take;
        }
        if (n == 0 && !_ended)
        {
            _ended = true;
            _atEnd();
        }
        return n;
    }

    public void Dispose() => _inner.Dispose();

    /// <summary>Taps every process of <paramref name="machine"/> (call after the machine is built, before it runs).</summary>
    public static void Attach(Machine.Machine machine, ProcessStatusTracker tracker)
    {
        var k = machine.Kernel;
        for (int i = 0; i < k.Tasks.Processes.Count; i++)
            Tap(machine, tracker, k.Tasks.Processes[i], i);
        // Every exit (a signal, the OOM killer, a scripted exit, the workload's end) is sampled at do_exit's start,
        // exact whatever the tick's batch size; the workload's end is also sampled by its tap, just before.
        Action<Entity>? previousExit = k.Tasks.ExitStarting;
        k.Tasks.ExitStarting = p =>
        {
            previousExit?.Invoke(p);
            tracker.RecordExit(k, k.World.Get<Components.Process>(p).Pid - 1);
        };
        Action<Entity, string>? previous = machine.AddressSpace.ChildCreated;
        machine.AddressSpace.ChildCreated = (child, name) =>
        {
            // Tap first: the scenario loader's handler then attaches triggers to the workload the child will use.
            Tap(machine, tracker, child, k.World.Get<Components.Process>(child).Pid - 1);
            previous?.Invoke(child, name);
        };
    }

    private static void Tap(Machine.Machine machine, ProcessStatusTracker tracker, Entity process, int index)
    {
        var k = machine.Kernel;
        Workload inner = k.World.Get<ProcessWorkload>(process).Source;
        if (inner is null)
            return;
        long mark = inner.NextMark;
        inner.NextMark = -1;
        inner.MarkReached = null;
        var outer = new Workload(new WorkloadEndTap(inner, () => tracker.Record(k, index)));
        machine.SetWorkload(process, outer);
        outer.NextMark = mark;
    }
}
