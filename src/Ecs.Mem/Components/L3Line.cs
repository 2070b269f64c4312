namespace EcsMem.Components;

/// <summary>
/// Marker: the entity is a line of the unified level-3 cache (Cachegrind's last-level cache LL too). Each cache level's table carries one such marker, so a query
/// can select one level, e.g. <c>new QueryDescription().WithAll&lt;CacheLineState, L3Line&gt;()</c>.
/// </summary>
public struct L3Line
{
}
