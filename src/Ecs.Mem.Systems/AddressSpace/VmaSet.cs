using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// The ordered index over the VMAs of one mm: the analogue of Linux's maple tree (formerly an rbtree plus a
/// linked list), which stores range pivots and pointers to vm_area_struct objects that live elsewhere.
/// Here each VMA is an entity of the <see cref="Ecs.World"/> carrying the <see cref="Vma"/> component (the
/// only copy of its fields); the set keeps the entities' handles in address order plus each one's start
/// and end as search keys, so find_vma is a binary search over two flat arrays with no World access.
/// Inserting creates the entity, removing destroys it. The keys duplicate Vma.Start/End, so the indexer only
/// hands out read-only references and every change of a VMA goes through a method here
/// (<see cref="SetEnd"/>, <see cref="SetStart"/>, <see cref="SetFlags"/>, <see cref="SetPageProt"/>):
/// keys and component cannot drift apart. Inserts and removals shift the tail, O(n), which is cheap for the
/// few hundred to few thousand VMAs of real processes and rare next to lookups (one per fault). Every change
/// of the set or of a VMA's bounds bumps <see cref="Seq"/>, which invalidates <see cref="VmaCache"/> instances.
/// </summary>
public sealed class VmaSet
{
    private readonly World _world;
    private Entity[] _entities = new Entity[16];
    private ulong[] _starts = new ulong[16];
    private ulong[] _ends = new ulong[16];

    // vm_flags kept beside the keys (written by Insert and SetFlags, as the component's are): reclaim's rmap walk
    // reads them for every mapping of every page it scans, without a World lookup.
    private VmFlags[] _flags = new VmFlags[16];
    private int _count;
    private int _locked;

    /// <summary>A set whose VMA entities live in a private World (standalone tools and tests).</summary>
    public VmaSet()
        : this(new World())
    {
    }

    /// <summary>A set whose VMA entities live in <paramref name="world"/> (the kernel's World).</summary>
    public VmaSet(World world)
    {
        ArgumentNullException.ThrowIfNull(world);
        _world = world;
    }

    /// <summary>The World holding this set's VMA entities.</summary>
    public World World => _world;

    /// <summary>Number of VMAs.</summary>
    public int Count => _count;

    /// <summary>Sequence number moved by every change (mm->vmacache_seqnum).</summary>
    public uint Seq { get; private set; }

    /// <summary>
    /// The VMA at position <paramref name="index"/> in address order, read from its entity. Read-only:
    /// change a VMA through the Set* methods so the search keys follow.
    /// </summary>
    public ref readonly Vma this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _world.Get<Vma>(EntityAt(index));
    }

    /// <summary>The entity of the VMA at position <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Entity EntityAt(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            ThrowIndex(index);
        }

        return _entities[index];
    }

    /// <summary>The VMA entities in address order.</summary>
    public ReadOnlySpan<Entity> Entities => new(_entities, 0, _count);

    /// <summary>Search key: vm_start of the VMA at <paramref name="index"/>, without touching the World.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong StartOf(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            ThrowIndex(index);
        }

        return _starts[index];
    }

    /// <summary>vm_flags of the VMA at <paramref name="index"/>, without touching the World.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public VmFlags FlagsOf(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            ThrowIndex(index);
        }

        return _flags[index];
    }

    /// <summary>vm_flags of the VMA containing <paramref name="addr"/> (vma_lookup's), or none when no VMA does.</summary>
    public VmFlags FlagsAt(ulong addr)
    {
        int vi = VmaLookup(addr);
        return vi >= 0 ? _flags[vi] : VmFlags.None;
    }

    /// <summary>
    /// The VMAs with VM_LOCKED among them. Zero lets reclaim's rmap walks (folio_referenced_one's and
    /// try_to_unmap_one's VM_LOCKED test) skip the lookup of a mapping's VMA when nothing else is wanted from it.
    /// </summary>
    public int LockedCount => _locked;

    /// <summary>Search key: vm_end of the VMA at <paramref name="index"/>, without touching the World.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong EndOf(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            ThrowIndex(index);
        }

        return _ends[index];
    }

    /// <summary>
    /// find_vma: index of the first VMA whose End is above <paramref name="addr"/>, or -1 when none.
    /// The VMA may start above addr (addr in a gap), exactly Linux's contract.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FindVma(ulong addr)
    {
        // Ends are strictly increasing because VMAs are sorted and disjoint.
        int lo = 0, hi = _count;
        ulong[] ends = _ends;
        while (lo < hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (ends[mid] > addr)
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
        return idx >= 0 && _starts[idx] < end ? idx : -1;
    }

    /// <summary>vma_lookup: index of the VMA containing <paramref name="addr"/>, or -1.</summary>
    public int VmaLookup(ulong addr)
    {
        int idx = FindVma(addr);
        return idx >= 0 && _starts[idx] <= addr ? idx : -1;
    }

    /// <summary>
    /// Told (object id, +1 or -1) whenever a VMA mapping a shmem object (<see cref="Vma.ShmemId"/>) is linked or
    /// removed, so the object's overcommit charge goes when its last mapping does (the file's last fput).
    /// </summary>
    public Action<int, int>? ShmemRefs { get; set; }

    /// <summary>
    /// vma_link: creates the entity of a VMA that must not overlap any existing one and indexes it;
    /// returns its position.
    /// </summary>
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
        else if (_starts[idx] < vma.End)
        {
            throw new InvalidOperationException($"VMA {vma.Start:x}-{vma.End:x} overlaps {_starts[idx]:x}-{_ends[idx]:x}");
        }

        if (_count == _entities.Length)
        {
            int n = _entities.Length * 2;
            Array.Resize(ref _entities, n);
            Array.Resize(ref _starts, n);
            Array.Resize(ref _ends, n);
            Array.Resize(ref _flags, n);
        }

        int tail = _count - idx;
        Array.Copy(_entities, idx, _entities, idx + 1, tail);
        Array.Copy(_starts, idx, _starts, idx + 1, tail);
        Array.Copy(_ends, idx, _ends, idx + 1, tail);
        Array.Copy(_flags, idx, _flags, idx + 1, tail);
        _entities[idx] = _world.Create(vma);
        if (vma.ShmemId != 0)
        {
            ShmemRefs?.Invoke(vma.ShmemId, 1);
        }

        _starts[idx] = vma.Start;
        _ends[idx] = vma.End;
        _flags[idx] = vma.Flags;
        if ((vma.Flags & VmFlags.Locked) != 0)
        {
            _locked++;
        }

        _count++;
        Seq++;
        return idx;
    }

    /// <summary>vma_remove / remove_vma: destroys the entities of <paramref name="n"/> VMAs starting at <paramref name="index"/>.</summary>
    public void RemoveRange(int index, int n)
    {
        if (index < 0 || n < 0 || index + n > _count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "VMA range outside the set");
        }

        DropShmemRefs(index, n);
        _world.Destroy(_entities.AsSpan(index, n));
        for (int i = index; i < index + n; i++)
        {
            if ((_flags[i] & VmFlags.Locked) != 0)
            {
                _locked--;
            }
        }

        int tail = _count - index - n;
        Array.Copy(_entities, index + n, _entities, index, tail);
        Array.Copy(_starts, index + n, _starts, index, tail);
        Array.Copy(_ends, index + n, _ends, index, tail);
        Array.Copy(_flags, index + n, _flags, index, tail);
        _count -= n;
        Array.Clear(_entities, _count, n);
        Seq++;
    }

    /// <summary>Tells <see cref="ShmemRefs"/> that the shmem VMAs among the <paramref name="n"/> at <paramref name="index"/> go.</summary>
    private void DropShmemRefs(int index, int n)
    {
        if (ShmemRefs is null)
        {
            return;
        }

        for (int i = index; i < index + n; i++)
        {
            int id = _world.Get<Vma>(_entities[i]).ShmemId;
            if (id != 0)
            {
                ShmemRefs(id, -1);
            }
        }
    }

    /// <summary>Destroys every VMA entity of the set.</summary>
    public void Clear()
    {
        DropShmemRefs(0, _count);
        _world.Destroy(_entities.AsSpan(0, _count));

        Array.Clear(_entities, 0, _count);
        _count = 0;
        _locked = 0;
        Seq++;
    }

    /// <summary>
    /// Moves vm_end of the VMA at <paramref name="index"/> (a split keeping the lower part, a merge, brk
    /// growth); refuses an empty, unaligned or overlapping result. Caches are invalidated.
    /// </summary>
    public void SetEnd(int index, ulong end)
    {
        ulong start = StartOf(index);
        if (end <= start || (end & ~Pte.PageMask) != 0 || (index + 1 < _count && end > _starts[index + 1]))
        {
            throw new InvalidOperationException($"VMA {start:x}-{_ends[index]:x} cannot end at {end:x}");
        }

        _world.Get<Vma>(_entities[index]).End = end;
        _ends[index] = end;
        Seq++;
    }

    /// <summary>
    /// Moves vm_start of the VMA at <paramref name="index"/> together with its vm_pgoff (stack growth,
    /// vma_expand downwards); refuses an empty, unaligned or overlapping result. Caches are invalidated.
    /// </summary>
    public void SetStart(int index, ulong start, ulong pgoff)
    {
        ulong end = EndOf(index);
        if (start >= end || (start & ~Pte.PageMask) != 0 || (index > 0 && start < _ends[index - 1]))
        {
            throw new InvalidOperationException($"VMA {_starts[index]:x}-{end:x} cannot start at {start:x}");
        }

        ref Vma v = ref _world.Get<Vma>(_entities[index]);
        v.Start = start;
        v.PgOff = pgoff;
        _starts[index] = start;
        Seq++;
    }

    /// <summary>vm_flags_reset: replaces vm_flags of the VMA at <paramref name="index"/> (the bounds, hence the keys, are unchanged).</summary>
    public void SetFlags(int index, VmFlags flags)
    {
        _world.Get<Vma>(EntityAt(index)).Flags = flags;
        _locked += ((flags & VmFlags.Locked) != 0 ? 1 : 0) - ((_flags[index] & VmFlags.Locked) != 0 ? 1 : 0);
        _flags[index] = flags;
    }

    /// <summary>vma_set_page_prot: replaces vm_page_prot of the VMA at <paramref name="index"/>.</summary>
    public void SetPageProt(int index, ulong pageProt) => _world.Get<Vma>(EntityAt(index)).PageProt = pageProt;

    /// <summary>Changes the backing kind of the VMA at <paramref name="index"/> (an anonymous area merged into [heap] becomes part of it).</summary>
    public void SetKind(int index, VmaKind kind) => _world.Get<Vma>(EntityAt(index)).Kind = kind;

    /// <summary>Sets the VMA's anon_vma (anon_vma_prepare, or the one a merge keeps).</summary>
    public void SetAnonVma(int index, int anonVma, bool forked)
    {
        ref Vma v = ref _world.Get<Vma>(EntityAt(index));
        v.AnonVma = anonVma;
        v.AnonVmaForked = forked;
    }

    /// <summary>Records an in-place change of a VMA so caches flush.</summary>
    public void Touch() => Seq++;

    /// <summary>A copy of every VMA in address order (for walks that change the set or the page tables as they go).</summary>
    public Vma[] ToArray()
    {
        var copy = new Vma[_count];
        for (int i = 0; i < _count; i++)
        {
            copy[i] = _world.Get<Vma>(_entities[i]);
        }

        return copy;
    }

    /// <summary>Walks the VMAs in address order: <c>foreach (ref readonly Vma v in mm.Vmas)</c>. Allocation free.</summary>
    public Enumerator GetEnumerator() => new(this);

    // [DoesNotReturn] rather than NoInlining: the JIT then keeps the throw off the callers' hot path (docs/ecs.md).
    [DoesNotReturn]
    private void ThrowIndex(int index) =>
        throw new ArgumentOutOfRangeException(nameof(index), index, $"VMA index outside 0..{_count - 1}");

    /// <summary>Enumerator over a <see cref="VmaSet"/>; changing the set during the walk throws, as the indices would shift.</summary>
    public struct Enumerator
    {
        private readonly VmaSet _set;
        private readonly uint _seq;
        private int _index;

        internal Enumerator(VmaSet set)
        {
            _set = set;
            _seq = set.Seq;
            _index = -1;
        }

        /// <summary>The current VMA, read from its entity.</summary>
        public readonly ref readonly Vma Current => ref _set[_index];

        public bool MoveNext()
        {
            if (_set.Seq != _seq)
            {
                throw new InvalidOperationException("the VMA set changed during enumeration");
            }

            return ++_index < _set._count;
        }
    }
}
