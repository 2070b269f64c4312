namespace EcsMem.Components;

/// <summary>
/// Marker: the entity is a line of the level-1 data cache (Cachegrind's D1 too). Each cache level's table carries one such marker, so a query
/// can select one level, e.g. <c>new QueryDescription().WithAll&lt;CacheLineState, L1dLine&gt;()</c>.
/// </summary>
public struct L1dLine
{
}
