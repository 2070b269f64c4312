namespace EcsMem.Systems.Reporting;

/// <summary>Hits and misses of one TLB (dtlb, itlb, stlb), from its <c>NAME_hit</c>/<c>NAME_miss</c> counters.</summary>
public readonly record struct TlbLevelStats(string Name, long Hits, long Misses)
{
    public long Lookups => Hits + Misses;

    public double HitRate => Lookups == 0 ? 0 : (double)Hits / Lookups;
}
