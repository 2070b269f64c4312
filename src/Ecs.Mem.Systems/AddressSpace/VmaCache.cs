using System.Runtime.CompilerServices;
using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// The per-thread VMA lookup cache Linux had from 3.15 to 5.x (mm/vmacache.c): four slots indexed by
/// page-number bits of the looked-up address (VMACACHE_HASH = (addr &gt;&gt; PAGE_SHIFT) &amp; 3), flushed
/// whenever the owning mm's sequence number moved (any VMA change). Slots hold indices into the
/// <see cref="VmaSet"/>, valid exactly as long as the sequence number is unchanged.
/// </summary>
public sealed class VmaCache
{
    /// <summary>VMACACHE_SIZE.</summary>
    public const int Size = 4;
    private const int Mask = Size - 1;

    private Slots _slots;
    private uint _seq;
    private bool _valid;
    private VmaSet? _owner;

    /// <summary>Lookups answered from the cache (VMACACHE_FIND_HITS).</summary>
    public long Hits { get; private set; }

    /// <summary>Lookups that fell through to the search (VMACACHE_FIND_CALLS - HITS).</summary>
    public long Misses { get; private set; }

    /// <summary>How many times a changed sequence number flushed the cache.</summary>
    public long Flushes { get; private set; }

    /// <summary>VMACACHE_HASH: the slot an address maps to.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Hash(ulong addr) => (int)(addr >> Pte.PageShift) & Mask;

    /// <summary>vmacache_find: index of a cached VMA containing <paramref name="addr"/>, or -1 (a miss).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(VmaSet set, ulong addr)
    {
        // A thread that switched address spaces (exec, or a cache reused for another mm) must not see
        // indices of the old one: vmacache_valid checks current->mm the same way.
        if (!_valid || _seq != set.Seq || !ReferenceEquals(_owner, set))
        {
            Flush(set.Seq);
            _owner = set;
        }
        else
        {
            // Start at the hashed slot: the entry most likely to hit, as vmacache_find did.
            int start = Hash(addr);
            for (int k = 0; k < Size; k++)
            {
                int idx = _slots[(start + k) & Mask];
                // The set's keys answer without reading the VMA entity.
                if (idx >= 0 && addr >= set.StartOf(idx) && addr < set.EndOf(idx))
                {
                    Hits++;
                    return idx;
                }
            }
        }

        Misses++;
        return -1;
    }

    /// <summary>vmacache_update: remember the VMA found for <paramref name="addr"/> in its hashed slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Update(ulong addr, int index) => _slots[Hash(addr)] = index;

    /// <summary>vmacache_flush: forget everything and adopt the mm's current sequence number.</summary>
    public void Flush(uint seq)
    {
        for (int k = 0; k < Size; k++)
        {
            _slots[k] = -1;
        }

        if (_valid)
        {
            Flushes++;
        }

        _seq = seq;
        _valid = true;
    }

    /// <summary>Index held by a slot (-1 when empty), for tests and diagnostics.</summary>
    public int SlotIndex(int slot) => _slots[slot];

    [InlineArray(Size)]
    private struct Slots
    {
        private int _element0;
    }
}
