namespace EcsMem.Scenarios;

/// <summary>Take the VMAs from a real <c>/proc/&lt;pid&gt;/maps</c> file (read by another part of EcsMem).</summary>
/// <param name="Path">Path of the maps file, resolved against the scenario file's folder when relative.</param>
/// <param name="Line">1-based line of <c>maps:</c>.</param>
public sealed record MapsFileLayout(string Path, int Line) : ProcessLayout(Line);
