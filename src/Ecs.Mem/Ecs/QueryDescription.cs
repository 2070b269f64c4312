namespace EcsMem.Ecs;

/// <summary>
/// Which archetypes a query visits: those with every component of <see cref="All"/>, at least one of
/// <see cref="Any"/> (when Any is non-empty) and none of <see cref="None"/>. Built fluently, as in Arch:
/// <c>new QueryDescription().WithAll&lt;Pte, Vma&gt;().WithNone&lt;Swapped&gt;()</c>.
/// </summary>
public readonly struct QueryDescription : IEquatable<QueryDescription>
{
    public QueryDescription()
    {
    }

    private QueryDescription(Signature all, Signature any, Signature none)
    {
        All = all;
        Any = any;
        None = none;
    }

    public Signature All { get; }
    public Signature Any { get; }
    public Signature None { get; }

    public QueryDescription WithAll(params ReadOnlySpan<ComponentType> types) => new(Union(All, types), Any, None);
    public QueryDescription WithAny(params ReadOnlySpan<ComponentType> types) => new(All, Union(Any, types), None);
    public QueryDescription WithNone(params ReadOnlySpan<ComponentType> types) => new(All, Any, Union(None, types));

    public QueryDescription WithAll<T1>() where T1 : struct => WithAll(Component<T1>.Type);
    public QueryDescription WithAll<T1, T2>() where T1 : struct where T2 : struct => WithAll(Component<T1>.Type, Component<T2>.Type);
    public QueryDescription WithAll<T1, T2, T3>() where T1 : struct where T2 : struct where T3 : struct =>
        WithAll(Component<T1>.Type, Component<T2>.Type, Component<T3>.Type);
    public QueryDescription WithAll<T1, T2, T3, T4>() where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        WithAll(Component<T1>.Type, Component<T2>.Type, Component<T3>.Type, Component<T4>.Type);

    public QueryDescription WithAny<T1>() where T1 : struct => WithAny(Component<T1>.Type);
    public QueryDescription WithAny<T1, T2>() where T1 : struct where T2 : struct => WithAny(Component<T1>.Type, Component<T2>.Type);
    public QueryDescription WithAny<T1, T2, T3>() where T1 : struct where T2 : struct where T3 : struct =>
        WithAny(Component<T1>.Type, Component<T2>.Type, Component<T3>.Type);

    public QueryDescription WithNone<T1>() where T1 : struct => WithNone(Component<T1>.Type);
    public QueryDescription WithNone<T1, T2>() where T1 : struct where T2 : struct => WithNone(Component<T1>.Type, Component<T2>.Type);
    public QueryDescription WithNone<T1, T2, T3>() where T1 : struct where T2 : struct where T3 : struct =>
        WithNone(Component<T1>.Type, Component<T2>.Type, Component<T3>.Type);

    /// <summary>True when an archetype with component set <paramref name="s"/> is visited.</summary>
    public bool Matches(in Signature s) =>
        s.ContainsAll(All) && (Any.IsEmpty || s.Overlaps(Any)) && !s.Overlaps(None);

    private static Signature Union(Signature s, ReadOnlySpan<ComponentType> types)
    {
        foreach (var t in types)
            s = s.With(t.Id);
        return s;
    }

    public bool Equals(QueryDescription other) => All == other.All && Any == other.Any && None == other.None;
    public override bool Equals(object? obj) => obj is QueryDescription q && Equals(q);
    public override int GetHashCode() => HashCode.Combine(All, Any, None);
    public static bool operator ==(QueryDescription a, QueryDescription b) => a.Equals(b);
    public static bool operator !=(QueryDescription a, QueryDescription b) => !a.Equals(b);
    public override string ToString() => $"All{All} Any{Any} None{None}";
}
