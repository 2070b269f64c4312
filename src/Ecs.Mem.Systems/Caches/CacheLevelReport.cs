namespace EcsMem.Systems.Caches;

/// <summary>A snapshot of one level's name, geometry and counters, for reports.</summary>
public sealed record CacheLevelReport(string Name, CacheGeometry Geometry, CacheCounters Counters);
