using System.Runtime.CompilerServices;
using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// The VMAs of one mm, kept sorted by address in a flat array (Linux keeps them in a maple tree,
/// formerly an rbtree plus a linked list). Lookups are binary searches, O(log n); inserts and removals
/// shift the tail, O(n), which is cheap for the few hundred to few thousand VMAs of real processes and
/// rare compared with lookups (one per fault or per access). Every change bumps <see cref="Seq"/>,
/// which invalidates <see cref="VmaCache"/> instances.
/// </summary>
public sealed class VmaSet
{
    private Vma[] _items = new Vma[16];
    private int _count;

    /// <summary>Number of VMAs.</summary>
    public int Count => _count;

    /// <summary>Sequence number moved by every change (mm->vmacache_seqnum).</summary>
    public uint Seq { get; private set; }

    /// <summary>The VMA at position <paramref name="index"/> in address order (mutable in place; call <see cref="Touch"/> after changing bounds).</summary>
    public ref Vma this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)index >= (uint)_count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"VMA index outside 0..{_count - 1}");
            }

            return ref _items[index];
        }
    }

    /// <summary>All VMAs in address order.</summary>
    public ReadOnlySpan<Vma> AsSpan() => new(_items, 0, _count);

    /// <summary>
    /// find_vma: index of the first VMA whose End is above <paramref name="addr"/>, or -1 when none.
    /// The VMA may start above addr (addr in a gap), exactly Linux's contract.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FindVma(ulong addr)
    {
        // Ends are strictly increasing because VMAs are sorted and disjoint.
        int lo = 0, hi = _count;
        Vma[] items = _items;
        while (lo < hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (items[mid].End > addr)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo < _count ? lo : -1;
    }

    /// <summary>find_vma through a per-thread cache: a hit skips the search; a found VMA is cached.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FindVma(ulong addr, VmaCache cache)
    {
        int idx = cache.Find(this, addr);
        if (idx >= 0)
        {
            return idx;
        }

        idx = FindVma(addr);
        if (idx >= 0)
        {
            cache.Update(addr, idx);
        }

        return idx;
    }

    /// <summary>
    /// find_vma_prev: like <see cref="FindVma(ulong)"/> and also the index of the VMA before it
    /// (the last VMA when none is found, -1 when there is no previous one).
    /// </summary>
    public int FindVmaPrev(ulong addr, out int prev)
    {
        int idx = FindVma(addr);
        prev = idx < 0 ? _count - 1 : idx - 1;
        return idx;
    }

    /// <summary>find_vma_intersection: index of the first VMA overlapping [start, end), or -1.</summary>
    public int FindVmaIntersection(ulong start, ulong end)
    {
        int idx = FindVma(start);
        return idx >= 0 && _items[idx].Start < end ? idx : -1;
    }

    /// <summary>vma_lookup: index of the VMA containing <paramref name="addr"/>, or -1.</summary>
    public int VmaLookup(ulong addr)
    {
        int idx = FindVma(addr);
        return idx >= 0 && _items[idx].Start <= addr ? idx : -1;
    }

    /// <summary>Inserts a VMA that must not overlap any existing one; returns its index.</summary>
    public int Insert(in Vma vma)
    {
        if (vma.Start >= vma.End || (vma.Start & ~Pte.PageMask) != 0 || (vma.End & ~Pte.PageMask) != 0)
        {
            throw new ArgumentException($"VMA {vma.Start:x}-{vma.End:x} is empty or not page aligned", nameof(vma));
        }

        int idx = FindVma(vma.Start);
        if (idx < 0)
        {
            idx = _count;
        }
        else if (_items[idx].Start < vma.End)
        {
            throw new InvalidOperationException($"VMA {vma.Start:x}-{vma.End:x} overlaps {_items[idx].Start:x}-{_items[idx].End:x}");
        }

        if (_count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        Array.Copy(_items, idx, _items, idx + 1, _count - idx);
        _items[idx] = vma;
        _count++;
        Seq++;
        return idx;
    }

    /// <summary>Removes <paramref name="n"/> VMAs starting at <paramref name="index"/>.</summary>
    public void RemoveRange(int index, int n)
    {
        if (index < 0 || n < 0 || index + n > _count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "VMA range outside the set");
        }

        Array.Copy(_items, index + n, _items, index, _count - index - n);
        _count -= n;
        Array.Clear(_items, _count, n);
        Seq++;
    }

    /// <summary>Removes every VMA.</summary>
    public void Clear()
    {
        Array.Clear(_items, 0, _count);
        _count = 0;
        Seq++;
    }

    /// <summary>Records an in-place change of a VMA's bounds or flags so caches flush.</summary>
    public void Touch() => Seq++;
}
