using System.Numerics;
using System.Runtime.CompilerServices;

namespace EcsMem.Ecs;

/// <summary>
/// An immutable set of component ids, stored as a bit set. Equality compares every bit, so two archetypes
/// with different component sets can never be merged by a hash collision: the hash only picks the bucket.
/// </summary>
public readonly struct Signature : IEquatable<Signature>
{
    private readonly ulong[]? _bits; // trailing zero words are trimmed, so equal sets have equal arrays

    private Signature(ulong[]? bits) => _bits = bits;

    /// <summary>The empty set.</summary>
    public static Signature Empty => default;

    public static Signature Of(params ReadOnlySpan<ComponentType> types)
    {
        var s = Empty;
        foreach (var t in types)
            s = s.With(t.Id);
        return s;
    }

    /// <summary>Number of component ids in the set.</summary>
    public int Count
    {
        get
        {
            if (_bits is null) return 0;
            int n = 0;
            foreach (ulong w in _bits) n += BitOperations.PopCount(w);
            return n;
        }
    }

    public bool IsEmpty => _bits is null;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(int id)
    {
        var b = _bits;
        int w = id >> 6;
        return b is not null && (uint)w < (uint)b.Length && (b[w] & (1UL << (id & 63))) != 0;
    }

    public Signature With(int id)
    {
        if (Contains(id)) return this;
        int words = Math.Max(_bits?.Length ?? 0, (id >> 6) + 1);
        var nb = new ulong[words];
        _bits?.CopyTo(nb, 0);
        nb[id >> 6] |= 1UL << (id & 63);
        return new Signature(nb);
    }

    public Signature Without(int id)
    {
        if (!Contains(id)) return this;
        var nb = (ulong[])_bits!.Clone();
        nb[id >> 6] &= ~(1UL << (id & 63));
        int len = nb.Length;
        while (len > 0 && nb[len - 1] == 0) len--;
        return new Signature(len == 0 ? null : nb.AsSpan(0, len).ToArray());
    }

    /// <summary>True when every id of <paramref name="other"/> is in this set.</summary>
    public bool ContainsAll(in Signature other)
    {
        var o = other._bits;
        if (o is null) return true;
        var b = _bits;
        if (b is null || b.Length < o.Length) return false;
        for (int i = 0; i < o.Length; i++)
            if ((b[i] & o[i]) != o[i]) return false;
        return true;
    }

    /// <summary>True when at least one id is in both sets.</summary>
    public bool Overlaps(in Signature other)
    {
        var o = other._bits;
        var b = _bits;
        if (o is null || b is null) return false;
        int n = Math.Min(o.Length, b.Length);
        for (int i = 0; i < n; i++)
            if ((b[i] & o[i]) != 0) return true;
        return false;
    }

    /// <summary>The ids in increasing order.</summary>
    public int[] ToIds()
    {
        var ids = new int[Count];
        int k = 0;
        if (_bits is not null)
        {
            for (int w = 0; w < _bits.Length; w++)
            {
                ulong word = _bits[w];
                while (word != 0)
                {
                    int bit = BitOperations.TrailingZeroCount(word);
                    ids[k++] = (w << 6) | bit;
                    word &= word - 1;
                }
            }
        }
        return ids;
    }

    public bool Equals(Signature other)
    {
        var a = _bits;
        var b = other._bits;
        if (ReferenceEquals(a, b)) return true;
        if (a is null || b is null) return false;
        return a.AsSpan().SequenceEqual(b);
    }

    public override bool Equals(object? obj) => obj is Signature s && Equals(s);

    public override int GetHashCode()
    {
        var h = new HashCode();
        if (_bits is not null)
            foreach (ulong w in _bits) h.Add(w);
        return h.ToHashCode();
    }

    public static bool operator ==(Signature a, Signature b) => a.Equals(b);
    public static bool operator !=(Signature a, Signature b) => !a.Equals(b);

    public override string ToString() =>
        "{" + string.Join(", ", ToIds().Select(id => ComponentRegistry.Get(id).Type.Name)) + "}";
}
