namespace EcsMem.Systems.Reporting;

/// <summary>One named number of a report (a counter, a gauge, a /proc field), kept in a list so the output order is fixed.</summary>
/// <param name="Name">The name as printed (the /proc/vmstat or /proc/meminfo name where Linux has one).</param>
/// <param name="Value">The value in the unit the section states (a count, or kB).</param>
/// <param name="Description">A short explanation for the text report, or empty.</param>
public readonly record struct NamedValue(string Name, long Value, string Description = "");
