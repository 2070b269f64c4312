namespace EcsMem.Scenarios;

/// <summary>Replay a recorded trace file.</summary>
/// <param name="Path">Trace path, resolved against the scenario file's folder when relative.</param>
/// <param name="Format">Trace format.</param>
/// <param name="ProcessFilter">Keep only records of this pid/thread/process name (format-specific), or null for all.</param>
/// <param name="Line">1-based line where the <c>trace:</c> section's content starts.</param>
public sealed record TraceWorkload(string Path, TraceFormat Format, string? ProcessFilter, int Line) : Workload(Line);
