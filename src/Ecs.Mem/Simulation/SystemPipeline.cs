namespace EcsMem.Simulation;

/// <summary>
/// The ordered list of systems. Order is explicit (registration order), never discovered by reflection,
/// so the same scenario always runs the same steps in the same sequence.
/// </summary>
public sealed class SystemPipeline
{
    private ISystem[] _systems = [];

    /// <summary>Systems in the order they run.</summary>
    public IReadOnlyList<ISystem> Systems => _systems;

    /// <summary>Appends <paramref name="system"/> to the end of the pipeline.</summary>
    public SystemPipeline Add(ISystem system)
    {
        foreach (var s in _systems)
            if (s.Name == system.Name)
                throw new ArgumentException($"a system named '{system.Name}' is already registered");
        _systems = [.. _systems, system];
        return this;
    }

    /// <summary>Inserts <paramref name="system"/> just before the system called <paramref name="before"/>.</summary>
    public SystemPipeline InsertBefore(string before, ISystem system)
    {
        int at = Array.FindIndex(_systems, s => s.Name == before);
        if (at < 0)
            throw new ArgumentException($"no system named '{before}' to insert '{system.Name}' before");
        var list = _systems.ToList();
        list.Insert(at, system);
        _systems = [.. list];
        return this;
    }

    /// <summary>Runs every system once, in order.</summary>
    public void Run(SimEnvironment env)
    {
        var systems = _systems;
        for (int i = 0; i < systems.Length; i++)
            systems[i].Update(env);
    }
}
