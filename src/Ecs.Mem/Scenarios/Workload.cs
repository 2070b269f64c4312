namespace EcsMem.Scenarios;

/// <summary>Where a process's accesses come from: a <see cref="TraceWorkload"/> or a <see cref="GeneratorWorkload"/>.</summary>
/// <param name="Line">1-based line in the scenario file, for later error messages.</param>
public abstract record Workload(int Line);
