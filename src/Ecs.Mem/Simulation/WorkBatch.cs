using System.Buffers;
using CommunityToolkit.HighPerformance.Buffers;

namespace EcsMem.Simulation;

/// <summary>
/// The work of one kind produced during a tick (fault requests, allocations to make, pages to swap
/// out…), consumed by the systems that run later in the same tick. Backed by pooled memory
/// (<see cref="ArrayPoolBufferWriter{T}"/>), and the environment keeps each type's batch object from tick to tick
/// (emptied, its memory kept), so a steady-state tick allocates nothing.
/// </summary>
public sealed class WorkBatch<T> : WorkBatch, IDisposable where T : struct
{
    private readonly ArrayPoolBufferWriter<T> _items = new(256);

    /// <summary>Number of items in the batch.</summary>
    public override int Count => _items.WrittenCount;

    /// <summary>The items, in the order they were added (which is what keeps systems deterministic).</summary>
    public Span<T> Items => _items.DangerousGetArray().AsSpan(0, _items.WrittenCount);

    public void Add(in T item)
    {
        _items.GetSpan(1)[0] = item;
        _items.Advance(1);
    }

    public void AddRange(ReadOnlySpan<T> items) => _items.Write(items);

    /// <summary>Empties the batch, keeping its memory (also how the environment takes it back at the end of a tick).</summary>
    public override void Clear() => _items.Clear();

    internal override Type ItemType => typeof(T);

    public void Dispose() => _items.Dispose();
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
