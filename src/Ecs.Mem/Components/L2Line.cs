namespace EcsMem.Components;

/// <summary>
/// Marker: the entity is a line of the unified level-2 cache. Each cache level's table carries one such marker, so a query
/// can select one level, e.g. <c>new QueryDescription().WithAll&lt;CacheLineState, L2Line&gt;()</c>.
/// </summary>
public struct L2Line
{
}
