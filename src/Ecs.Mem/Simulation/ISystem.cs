namespace EcsMem.Simulation;

/// <summary>
/// A system: the only kind of code that changes simulation state. The pipeline runs each registered
/// system once per tick, in registration order, over the work batches that tick produced.
/// </summary>
public interface ISystem
{
    /// <summary>Name shown in reports and error messages (e.g. "fault-handling").</summary>
    string Name { get; }

    /// <summary>Processes this tick's work: reads batches via <see cref="SimEnvironment.Work{T}"/>, changes the World.</summary>
    void Update(SimEnvironment env);

    /// <summary>
    /// Declares the work batches this system consumes (reads in its <see cref="Update"/> and acts on), so the environment
    /// can catch late work: an item added to a batch after its last consumer has run in the tick would be dropped
    /// unread (<see cref="SimEnvironment.LateWork"/>). A system that consumes nothing declares nothing.
    /// </summary>
    void DeclareConsumes(WorkConsumers consumes)
    {
    }

    /// <summary>
    /// True when <see cref="Update"/> acts only on this tick's work batches: with no batch rented in the tick
    /// (<see cref="SimEnvironment.HasPendingWork"/> false) it would do nothing, so the pipeline leaves it out of such a
    /// tick (an idle tick before an event, a tick whose accesses found no slow-path work). A system that keeps state
    /// between ticks (stalled requests, waiting windows, a clock to bring back) or acts every tick keeps the default,
    /// false. Read when the pipeline changes.
    /// </summary>
    bool WorkOnly => false;
}
