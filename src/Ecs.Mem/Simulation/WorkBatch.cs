using System.Buffers;
using CommunityToolkit.HighPerformance.Buffers;
using Microsoft.Extensions.ObjectPool;

namespace EcsMem.Simulation;

/// <summary>
/// The work of one kind produced during a tick (fault requests, allocations to make, pages to swap
/// out…), consumed by the systems that run later in the same tick. Backed by pooled memory
/// (<see cref="ArrayPoolBufferWriter{T}"/>), and the batch objects themselves are recycled through an
/// <see cref="ObjectPool{T}"/>, so a steady-state tick allocates nothing.
/// </summary>
public sealed class WorkBatch<T> : IResettable, IDisposable where T : struct
{
    private readonly ArrayPoolBufferWriter<T> _items = new(256);

    /// <summary>Number of items in the batch.</summary>
    public int Count => _items.WrittenCount;

    /// <summary>The items, in the order they were added (which is what keeps systems deterministic).</summary>
    public Span<T> Items => _items.DangerousGetArray().AsSpan(0, _items.WrittenCount);

    public void Add(in T item)
    {
        _items.GetSpan(1)[0] = item;
        _items.Advance(1);
    }

    public void AddRange(ReadOnlySpan<T> items) => _items.Write(items);

    public void Clear() => _items.Clear();

    /// <summary>Called by the object pool when the batch comes back: empty it, keep its memory.</summary>
    public bool TryReset()
    {
        _items.Clear();
        return true;
    }

    public void Dispose() => _items.Dispose();
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
