using System.Runtime.CompilerServices;

namespace EcsMem.Ecs;

/// <summary>
/// Run-time description of a component type: its dense id (the bit it occupies in a <see cref="Signature"/>),
/// its CLR type and size, and the type-specific column operations the world needs when it moves rows
/// between archetypes without knowing T statically.
/// </summary>
public sealed class ComponentType
{
    internal ComponentType(int id, Type type, int size, ColumnOps ops)
    {
        Id = id;
        Type = type;
        Size = size;
        Ops = ops;
    }

    public int Id { get; }
    public Type Type { get; }
    public int Size { get; }
    internal ColumnOps Ops { get; }

    /// <summary>True when the component type is or contains a reference (its rows need clearing when vacated).</summary>
    public bool HoldsReferences => Ops.HoldsReferences;

    /// <summary>The descriptor of <typeparamref name="T"/>, registering it on first use.</summary>
    public static ComponentType Of<T>() where T : struct => Component<T>.Type;

    public override string ToString() => Type.Name;
}

/// <summary>
/// Static generic holder of a component type's id: reading <c>Component&lt;T&gt;.Id</c> is a static field
/// load the JIT folds into the caller, so the hot path never hashes a Type.
/// </summary>
public static class Component<T> where T : struct
{
    public static readonly ComponentType Type = ComponentRegistry.Register<T>();
    public static readonly int Id = Type.Id;
}

/// <summary>Process-wide table of component types, in registration order.</summary>
public static class ComponentRegistry
{
    private static readonly object Gate = new();
    private static ComponentType[] _types = new ComponentType[64];
    private static int _count;

    /// <summary>Number of component types registered so far.</summary>
    public static int Count => Volatile.Read(ref _count);

    /// <summary>The type with dense id <paramref name="id"/>.</summary>
    public static ComponentType Get(int id) => Volatile.Read(ref _types)[id];

    internal static ComponentType Register<T>() where T : struct
    {
        lock (Gate)
        {
            for (int i = 0; i < _count; i++)
                if (_types[i].Type == typeof(T))
                    return _types[i];
            if (_count == _types.Length)
            {
                var bigger = new ComponentType[_types.Length * 2];
                Array.Copy(_types, bigger, _count);
                Volatile.Write(ref _types, bigger);
            }
            var ct = new ComponentType(_count, typeof(T), Unsafe.SizeOf<T>(), new ColumnOps<T>());
            _types[_count] = ct;
            Volatile.Write(ref _count, _count + 1);
            return ct;
        }
    }
}

/// <summary>
/// Operations on a component column (a <c>T[]</c> seen as <see cref="Array"/>). One virtual call per column
/// per structural change; never on the query or Get path.
/// </summary>
internal abstract class ColumnOps
{
    public abstract bool HoldsReferences { get; }
    public abstract Array NewColumn(int capacity);
    public abstract void CopyRow(Array from, int fromIndex, Array to, int toIndex);
    public abstract void ClearRow(Array column, int index);
    public abstract void ZeroRow(Array column, int index);
    public abstract void Remove(World world, Entity entity);
}

internal sealed class ColumnOps<T> : ColumnOps where T : struct
{
    public override bool HoldsReferences => RuntimeHelpers.IsReferenceOrContainsReferences<T>();

    public override Array NewColumn(int capacity) => new T[capacity];

    public override void CopyRow(Array from, int fromIndex, Array to, int toIndex) =>
        Unsafe.As<T[]>(to)[toIndex] = Unsafe.As<T[]>(from)[fromIndex];

    public override void ClearRow(Array column, int index)
    {
        // Only components holding references need clearing, so the GC can collect what they point to.
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            Unsafe.As<T[]>(column)[index] = default;
    }

    public override void ZeroRow(Array column, int index) => Unsafe.As<T[]>(column)[index] = default;

    public override void Remove(World world, Entity entity) => world.Remove<T>(entity);
}
