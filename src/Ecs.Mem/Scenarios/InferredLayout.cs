namespace EcsMem.Scenarios;

/// <summary>
/// <c>layout: infer</c>: build VMAs from the addresses the workload touches (the default when a process has no layout),
/// so a bare trace runs without knowing the traced program's memory map.
/// </summary>
/// <param name="Line">1-based line of the layout, or of the process when defaulted.</param>
public sealed record InferredLayout(int Line) : ProcessLayout(Line);
