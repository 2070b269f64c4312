namespace EcsMem.Scenarios;

/// <summary>
/// How a process's initial address space (its VMAs) is built: <see cref="ExecLayout"/>,
/// <see cref="MapsFileLayout"/> or <see cref="InferredLayout"/>.
/// </summary>
/// <param name="Line">1-based line of the layout in the scenario file, for later error messages.</param>
public abstract record ProcessLayout(int Line);
