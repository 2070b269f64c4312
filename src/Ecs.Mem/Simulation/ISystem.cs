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
}
