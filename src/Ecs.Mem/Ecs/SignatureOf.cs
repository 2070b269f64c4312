namespace EcsMem.Ecs;

/// <summary>
/// Per-generic-combination cache of a component set, so typed Create calls find their archetype through a
/// static field and a small per-world array instead of hashing a signature each time.
/// </summary>
internal static class SignatureKeys
{
    private static int _next;
    public static int Next() => Interlocked.Increment(ref _next) - 1;

    public static Signature Build(params ReadOnlySpan<ComponentType> types)
    {
        var s = Signature.Of(types);
        if (s.Count != types.Length)
            throw Duplicate(types);
        return s;
    }

    public static ArgumentException Duplicate(ReadOnlySpan<ComponentType> types) =>
        new("the same component type is listed twice: " + string.Join(", ", types.ToArray().Select(t => t.Type.Name)));
}

internal static class SignatureOf<T1> where T1 : struct
{
    public static readonly Signature Value = Signature.Of(Component<T1>.Type);
    public static readonly int Key = SignatureKeys.Next();
}

internal static class SignatureOf<T1, T2> where T1 : struct where T2 : struct
{
    public static readonly Signature Value = Signature.Of(Component<T1>.Type, Component<T2>.Type);
    public static readonly int Key = SignatureKeys.Next();
}

internal static class SignatureOf<T1, T2, T3> where T1 : struct where T2 : struct where T3 : struct
{
    public static readonly Signature Value = Signature.Of(Component<T1>.Type, Component<T2>.Type, Component<T3>.Type);
    public static readonly int Key = SignatureKeys.Next();
}

internal static class SignatureOf<T1, T2, T3, T4> where T1 : struct where T2 : struct where T3 : struct where T4 : struct
{
    public static readonly Signature Value = Signature.Of(Component<T1>.Type, Component<T2>.Type, Component<T3>.Type, Component<T4>.Type);
    public static readonly int Key = SignatureKeys.Next();
}
