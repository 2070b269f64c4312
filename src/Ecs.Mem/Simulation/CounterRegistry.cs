using System.Runtime.CompilerServices;

namespace EcsMem.Simulation;

/// <summary>
/// Named 64-bit counters (pgfault, pgmajfault, pswpin, …) that systems increment and reports read.
/// A system resolves its counter names to <see cref="CounterId"/>s once; incrementing is then an array
/// add, cheap enough for the per-access path.
/// </summary>
public sealed class CounterRegistry
{
    private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);
    private readonly List<string> _names = new();
    private long[] _values = new long[32];

    /// <summary>The counter called <paramref name="name"/>, created at zero on first use.</summary>
    public CounterId Register(string name)
    {
        if (_byName.TryGetValue(name, out int id))
            return new CounterId(id);
        id = _names.Count;
        _names.Add(name);
        _byName.Add(name, id);
        if (id == _values.Length)
            Array.Resize(ref _values, _values.Length * 2);
        return new CounterId(id);
    }

    // AggressiveInlining: both are on the per-access path (TLB hit/miss counts), inside callers large enough that
    // the inliner's budget would otherwise leave them as calls.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(CounterId id, long delta) => _values[id.Index] += delta;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment(CounterId id) => _values[id.Index]++;

    public long this[CounterId id] => _values[id.Index];

    /// <summary>Value of a counter by name; 0 for a name nobody registered.</summary>
    public long Get(string name) => _byName.TryGetValue(name, out int id) ? _values[id] : 0;

    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>All counters in registration order (the order systems were set up in: deterministic).</summary>
    public IEnumerable<KeyValuePair<string, long>> All()
    {
        for (int i = 0; i < _names.Count; i++)
            yield return new KeyValuePair<string, long>(_names[i], _values[i]);
    }

    /// <summary>Sets every counter back to zero (names stay registered).</summary>
    public void Reset() => Array.Clear(_values);
}

/// <summary>Handle of a registered counter.</summary>
public readonly record struct CounterId(int Index);
