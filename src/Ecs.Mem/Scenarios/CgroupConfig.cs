namespace EcsMem.Scenarios;

/// <summary>
/// One memory cgroup of the scenario's hierarchy (cgroup v2): its name, its parent (null: a child of the root
/// cgroup) and its memory controller files, in bytes; <see cref="Unlimited"/> stands for the word <c>max</c>
/// (the default of memory.max, memory.high and memory.swap.max; memory.low and memory.min default to 0).
/// </summary>
/// <param name="Name">Unique name; processes name it in their <c>cgroup</c> key.</param>
/// <param name="Parent">The parent cgroup's name, declared earlier in the list, or null for the root.</param>
/// <param name="Max">memory.max: the hard limit; a charge above it reclaims inside the group, then OOM-kills in it.</param>
/// <param name="High">memory.high: above it the charging task is throttled and the group reclaimed.</param>
/// <param name="Low">memory.low: best-effort protection from reclaim.</param>
/// <param name="Min">memory.min: hard protection from reclaim.</param>
/// <param name="SwapMax">memory.swap.max: the most swap the group may use.</param>
/// <param name="Line">1-based line of the entry.</param>
public sealed record CgroupConfig(string Name, string? Parent, long Max, long High, long Low, long Min, long SwapMax, int Line)
{
    /// <summary>The value of a limit written as <c>max</c> (PAGE_COUNTER_MAX in bytes).</summary>
    public const long Unlimited = long.MaxValue;
}
