using EcsMem.Ecs;

namespace EcsMem.Simulation;

/// <summary>
/// A scheduled happening (an I/O completing, a process starting, kswapd waking, a timeline mmap…).
/// Plain data: the handler registered for <see cref="Kind"/> interprets the arguments.
/// </summary>
public readonly record struct SimEvent(int Kind, Entity Target, long Arg0 = 0, long Arg1 = 0);

/// <summary>Reacts to events of one kind, typically by adding work to this tick's batches.</summary>
public interface IEventHandler
{
    void Handle(SimEnvironment env, in SimEvent ev);
}
