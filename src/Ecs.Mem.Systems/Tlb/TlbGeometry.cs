using System.Globalization;
using System.Numerics;
using EcsMem.Diagnostics;

namespace EcsMem.Systems.Tlb;

/// <summary>Shape of one set-associative TLB: total entries and ways; sets = entries / ways.</summary>
public readonly record struct TlbGeometry(int Entries, int Ways)
{
    public int Sets => Ways > 0 ? Entries / Ways : 0;

    /// <summary>The geometry a scenario's <c>machine.tlb.&lt;name&gt;</c> entry describes.</summary>
    public static TlbGeometry From(Scenarios.TlbConfig tlb) => new(tlb.Entries, tlb.Ways);

    /// <summary>
    /// Throws <see cref="InputException"/> unless entries = sets × ways with sets a power of two
    /// (the set index is a bit field of the virtual page number).
    /// </summary>
    public void Validate(string source, string name)
    {
        string value = $"{name}={Entries}x{Ways}";
        if (Entries < 1)
            throw new InputException(source, 0, value, $"{name} entries must be positive");
        if (Ways < 1)
            throw new InputException(source, 0, value, $"{name} ways must be positive");
        if (Entries % Ways != 0)
            throw new InputException(source, 0, value, $"{name} entries ({Entries}) must be a multiple of its ways ({Ways})");
        if (!BitOperations.IsPow2(Entries / Ways))
            throw new InputException(source, 0, value, $"{name} sets (entries / ways = {Entries / Ways}) must be a power of two");
    }

    /// <summary>
    /// Parses "ENTRIESxWAYS" (e.g. "1536x12", the form error messages show) and validates it; any other
    /// text is an <see cref="InputException"/> from <paramref name="source"/>.
    /// </summary>
    public static TlbGeometry Parse(string text, string source, string name)
    {
        int x = text.IndexOf('x', StringComparison.OrdinalIgnoreCase);
        if (x <= 0 || x == text.Length - 1
            || !int.TryParse(text.AsSpan(0, x), NumberStyles.None, CultureInfo.InvariantCulture, out int entries)
            || !int.TryParse(text.AsSpan(x + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int ways))
            throw new InputException(source, 0, text, $"{name} must be ENTRIESxWAYS, e.g. 64x4");
        var g = new TlbGeometry(entries, ways);
        g.Validate(source, name);
        return g;
    }

    public override string ToString() => $"{Entries} entries, {Ways}-way, {Sets} sets";
}
