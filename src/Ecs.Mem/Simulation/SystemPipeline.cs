namespace EcsMem.Simulation;

/// <summary>
/// The ordered list of systems. Order is explicit (registration order), never discovered by reflection,
/// so the same scenario always runs the same steps in the same sequence.
/// </summary>
public sealed class SystemPipeline
{
    private ISystem[] _systems = [];

    // Each system's Update bound once: a tick calls a dozen different systems from one call site, where an interface
    // call goes through the runtime's resolve stub (a cache lookup per call); a delegate is one indirect call.
    private Action<SimEnvironment>[] _updates = [];

    // Each system's ISystem.WorkOnly, bound with _updates.
    private bool[] _workOnly = [];

    /// <summary>Systems in the order they run.</summary>
    public IReadOnlyList<ISystem> Systems => _systems;

    /// <summary>Appends <paramref name="system"/> to the end of the pipeline.</summary>
    public SystemPipeline Add(ISystem system)
    {
        foreach (var s in _systems)
            if (s.Name == system.Name)
                throw new ArgumentException($"a system named '{system.Name}' is already registered");
        _systems = [.. _systems, system];
        BindUpdates();
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
        BindUpdates();
        return this;
    }

    /// <summary>Changes with every Add and InsertBefore (the environment then looks up the batches' consumers again).</summary>
    public int Version { get; private set; }

    private void BindUpdates()
    {
        Version++;
        var updates = new Action<SimEnvironment>[_systems.Length];
        var workOnly = new bool[_systems.Length];
        for (int i = 0; i < updates.Length; i++)
        {
            updates[i] = _systems[i].Update;
            workOnly[i] = _systems[i].WorkOnly;
        }
        _updates = updates;
        _workOnly = workOnly;
    }

    /// <summary>
    /// Runs every system once, in order; a <see cref="ISystem.WorkOnly"/> system only when some batch is rented so far
    /// in the tick (without one it would do nothing: the run is the same, the call is saved).
    /// </summary>
    public void Run(SimEnvironment env)
    {
        var updates = _updates;
        var workOnly = _workOnly;
        for (int i = 0; i < updates.Length; i++)
        {
            if (workOnly[i] && !env.HasPendingWork)
                continue;
            env.SetRunning(i);
            updates[i](env);
        }
        env.SetRunning(updates.Length);
    }
}
