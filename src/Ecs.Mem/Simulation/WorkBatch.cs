using System.Runtime.CompilerServices;

namespace EcsMem.Simulation;

/// <summary>
/// The work of one kind produced during a tick (fault requests, allocations to make, pages to swap
/// out…), consumed by the systems that run later in the same tick. A plain array and a count: the environment keeps
/// each type's batch object from tick to tick (emptied, its array kept), so a steady-state tick allocates nothing.
/// </summary>
public sealed class WorkBatch<T> : WorkBatch where T : struct
{
    private T[] _items = new T[256];
    private int _count;

    /// <summary>Number of items in the batch.</summary>
    public override int Count => _count;

    /// <summary>The items, in the order they were added (which is what keeps systems deterministic).</summary>
    public Span<T> Items => new(_items, 0, _count);

    public void Add(in T item)
    {
        T[] items = _items;
        int n = _count;
        if ((uint)n < (uint)items.Length)
        {
            items[n] = item;
            _count = n + 1;
            return;
        }
        Grow(n + 1);
        _items[n] = item;
        _count = n + 1;
    }

    public void AddRange(ReadOnlySpan<T> items)
    {
        if (_items.Length - _count < items.Length)
            Grow(_count + items.Length);
        items.CopyTo(_items.AsSpan(_count));
        _count += items.Length;
    }

    /// <summary>
    /// Empties the batch, keeping its array (also how the environment takes it back at the end of a tick). Items
    /// holding references are cleared so the batch keeps nothing alive; plain values are just forgotten.
    /// </summary>
    public override void Clear()
    {
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            Array.Clear(_items, 0, _count);
        _count = 0;
    }

    internal override Type ItemType => typeof(T);

    /// <summary>Doubles the array until it holds <paramref name="needed"/> items (out of line: rare).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int needed)
    {
        int size = _items.Length * 2;
        while (size < needed)
            size *= 2;
        Array.Resize(ref _items, size);
    }
}

/// <summary>
/// What the environment needs of a batch of any item type when it takes the tick's batches back: a direct call per
/// batch instead of a delegate per batch type.
/// </summary>
public abstract class WorkBatch
{
    private protected WorkBatch()
    {
    }

    /// <summary>Number of items in the batch.</summary>
    public abstract int Count { get; }

    /// <summary>Empties the batch, keeping its memory.</summary>
    public abstract void Clear();

    /// <summary>The item type (for the late-work report).</summary>
    internal abstract Type ItemType { get; }
}

/// <summary>Dense per-type slot numbers for work batches, so the environment finds a batch by array index.</summary>
internal static class WorkBatchSlots
{
    private static int _next;
    public static int Next() => Interlocked.Increment(ref _next) - 1;
}

internal static class WorkBatchSlot<T> where T : struct
{
    public static readonly int Index = WorkBatchSlots.Next();
}
