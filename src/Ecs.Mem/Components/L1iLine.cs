namespace EcsMem.Components;

/// <summary>
/// Marker: the entity is a line of the level-1 instruction cache (Cachegrind's I1 too). Each cache level's table carries one such marker, so a query
/// can select one level, e.g. <c>new QueryDescription().WithAll&lt;CacheLineState, L1iLine&gt;()</c>.
/// </summary>
public struct L1iLine
{
}
