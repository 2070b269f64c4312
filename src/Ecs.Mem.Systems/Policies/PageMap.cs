using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace EcsMem.Systems.Policies;

/// <summary>
/// A map from arbitrary 64-bit page numbers to small non-negative ints (frame or slot numbers):
/// open addressing with linear probing and backward-shift deletion, so there are no tombstones and a
/// lookup or update never allocates. It grows (doubling) only when it passes half full.
/// </summary>
public sealed class PageMap
{
    private struct Entry
    {
        public ulong Key;
        public int Value;
        public int Used; // 0 = empty slot, so a fresh array is an empty table
    }

    private Entry[] _entries;
    private int _mask;
    private int _shift;
    private int _count;

    /// <summary>Creates a map sized so <paramref name="expected"/> entries fit without growing.</summary>
    public PageMap(int expected)
    {
        int cap = 16;
        while (cap < expected * 2L && cap < (1 << 30)) cap <<= 1;
        _entries = new Entry[cap];
        SetCapacity(cap);
    }

    public int Count => _count;

    private void SetCapacity(int cap)
    {
        _mask = cap - 1;
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)cap);
    }

    /// <summary>Fibonacci hashing: page numbers are often dense or strided, the multiply spreads them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>
    /// Asks the CPU to start loading the entry <paramref name="key"/> would be found at first. A replay that
    /// knows its next references issues this a few references ahead, so the probe finds the line in cache
    /// instead of waiting for memory (the table of a large trace is far bigger than L2). A hint only: it
    /// changes no state and cannot fault, so a stale address after the GC moved the array is harmless.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void Prefetch(ulong key)
    {
        if (Sse.IsSupported)
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_entries), Home(key))));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(ulong key, out int value)
    {
        Entry[] e = _entries;
        int mask = _mask;
        int i = Home(key);
        while (true)
        {
            ref Entry s = ref e[i];
            if (s.Used == 0)
            {
                value = -1;
                return false;
            }
            if (s.Key == key)
            {
                value = s.Value;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    public bool ContainsKey(ulong key) => TryGetValue(key, out _);

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/>, adding it if absent. Returns true if it was added.</summary>
    public bool Set(ulong key, int value)
    {
        ref int slot = ref GetValueRefOrAdd(key, value, out bool added);
        slot = value;
        return added;
    }

    /// <summary>
    /// A reference to the value of <paramref name="key"/>, adding it with <paramref name="valueIfAdded"/> when
    /// absent: one probe for "look up, then update". The reference stays valid until the next insertion or removal
    /// (updating an existing key never moves entries).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref int GetValueRefOrAdd(ulong key, int valueIfAdded, out bool added)
    {
        Entry[] e = _entries;
        int mask = _mask;
        int i = Home(key);
        while (true)
        {
            ref Entry s = ref e[i];
            if (s.Used == 0)
            {
                if ((_count + 1) * 2L > e.Length)
                {
                    // Only an insertion grows the table, so updating an existing key never moves entries.
                    Grow();
                    return ref GetValueRefOrAdd(key, valueIfAdded, out added);
                }
                s.Key = key;
                s.Value = valueIfAdded;
                s.Used = 1;
                _count++;
                added = true;
                return ref s.Value;
            }
            if (s.Key == key)
            {
                added = false;
                return ref s.Value;
            }
            i = (i + 1) & mask;
        }
    }

    /// <summary>
    /// The table as a replay loop that probes it once per reference wants it (<see cref="Probe"/>): its first entry,
    /// shift and mask held by the loop, in registers, instead of read again from this object at every reference.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Probe StartProbe() => new(this);

    /// <summary>
    /// <see cref="PageMap.TryGetValue"/> and <see cref="PageMap.Prefetch"/> for a loop (the ideal-mode replay): a copy
    /// of the table's first entry and shift, so the loop keeps them in two registers (the map's fields would be
    /// read again at every reference, since the map may grow in between), and no bounds checks (every index is a
    /// hash shifted below the capacity, or masked by it). The mask is worked out from the shift when a probe
    /// goes past its first slot, which is rare at most half full, rather than held in a third register. It never
    /// inserts: an insertion may grow the table and makes the probe stale, so the caller takes a new one after it.
    /// </summary>
    internal readonly ref struct Probe
    {
        private readonly ref Entry _first;
        private readonly int _shift;

        public Probe(PageMap map)
        {
            _first = ref MemoryMarshal.GetArrayDataReference(map._entries);
            _shift = map._shift;
        }

        /// <summary>See <see cref="PageMap.Prefetch"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public unsafe void Prefetch(ulong key)
        {
            if (Sse.IsSupported)
                Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref _first, (nint)((key * 0x9E3779B97F4A7C15UL) >> _shift))));
        }

        /// <summary>
        /// A reference to the value of <paramref name="key"/>, or a null reference when the map does not hold it
        /// (<see cref="Unsafe.IsNullRef"/>); the caller inserts it with <see cref="PageMap.GetValueRefOrAdd(ulong, int, out bool)"/>,
        /// after which this probe is stale: take a new one. Valid until the next insertion.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ref int Find(ulong key)
        {
            nint i = (nint)((key * 0x9E3779B97F4A7C15UL) >> _shift);
            while (true)
            {
                ref Entry s = ref Unsafe.Add(ref _first, i);
                if (s.Used == 0)
                    return ref Unsafe.NullRef<int>();
                if (s.Key == key)
                    return ref s.Value;
                // The capacity is 2^(64 - shift).
                i = (i + 1) & (((nint)1 << (64 - _shift)) - 1);
            }
        }
    }

    /// <summary>Removes <paramref name="key"/>; returns false if it was absent.</summary>
    public bool Remove(ulong key)
    {
        Entry[] e = _entries;
        int mask = _mask;
        int i = Home(key);
        while (true)
        {
            if (e[i].Used == 0) return false;
            if (e[i].Key == key) break;
            i = (i + 1) & mask;
        }
        // Backward-shift deletion: pull later entries of the probe run into the hole when their home
        // slot does not lie (cyclically) between the hole and their current slot.
        int hole = i;
        int j = i;
        while (true)
        {
            j = (j + 1) & mask;
            if (e[j].Used == 0) break;
            int home = Home(e[j].Key);
            bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!stays)
            {
                e[hole] = e[j];
                hole = j;
            }
        }
        e[hole] = default;
        _count--;
        return true;
    }

    public void Clear()
    {
        Array.Clear(_entries);
        _count = 0;
    }

    private void Grow()
    {
        Entry[] old = _entries;
        _entries = new Entry[old.Length * 2];
        SetCapacity(_entries.Length);
        _count = 0;
        foreach (ref readonly Entry s in old.AsSpan())
            if (s.Used != 0) Set(s.Key, s.Value);
    }
}
