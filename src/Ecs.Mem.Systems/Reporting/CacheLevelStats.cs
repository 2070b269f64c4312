namespace EcsMem.Systems.Reporting;

/// <summary>One cache level: its geometry and demand accesses and misses (local miss rate = misses / accesses at that level).</summary>
public readonly record struct CacheLevelStats(string Name, long SizeBytes, int Ways, int LineBytes, long Accesses, long Misses, long WriteBacks)
{
    public double MissRate => Accesses == 0 ? 0 : (double)Misses / Accesses;
}
