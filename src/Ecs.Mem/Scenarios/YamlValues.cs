using System.Globalization;
using EcsMem.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace EcsMem.Scenarios;

/// <summary>
/// Typed reads of YAML scalars with scenario-file error messages. Every failure is an
/// <see cref="InputException"/> carrying the node's line and text.
/// </summary>
internal sealed class YamlValues(string source)
{
    public string Source { get; } = source;

    /// <summary>1-based line of a node (YamlDotNet marks are already 1-based).</summary>
    public static int LineOf(YamlNode node) => (int)Math.Min(node.Start.Line, int.MaxValue);

    /// <summary>How a node is shown in an error: scalars as written, collections by kind.</summary>
    public static string Show(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? "",
        YamlMappingNode => "(a mapping)",
        YamlSequenceNode => "(a list)",
        _ => "(an alias)",
    };

    public InputException Error(YamlNode node, string problem) => new(Source, LineOf(node), Show(node), problem);

    /// <summary>Whether the node is an empty value (<c>key:</c>, <c>~</c>, <c>null</c>).</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: null or "" or "~" or "null" };

    public string Text(YamlNode node, string path)
    {
        if (node is not YamlScalarNode s)
            throw Error(node, $"{path} must be a single value, not a list or mapping");
        if (IsNull(node))
            throw Error(node, $"{path} needs a value");
        return s.Value!;
    }

    public string NonEmptyText(YamlNode node, string path)
    {
        string t = Text(node, path).Trim();
        if (t.Length == 0)
            throw Error(node, $"{path} must not be empty");
        return t;
    }

    /// <summary>A byte size: 4096, 64K, 32M, 2G (binary multiples).</summary>
    public long Size(YamlNode node, string path) => SizeParser.Parse(Text(node, path), Source, LineOf(node), path);

    /// <summary>A size that may carry a leading minus sign (brk deltas).</summary>
    public long SignedSize(YamlNode node, string path)
    {
        string t = Text(node, path).Trim();
        if (t.StartsWith('-'))
            return -SizeParser.Parse(t[1..], Source, LineOf(node), path);
        return SizeParser.Parse(t, Source, LineOf(node), path);
    }

    /// <summary>A decimal integer in [min, max]; '_' may separate digit groups (1_000_000).</summary>
    public long Integer(YamlNode node, string path, long min, long max)
    {
        string t = Text(node, path).Trim();
        if (!long.TryParse(StripGroups(t), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
            throw Error(node, $"{path} must be a whole number");
        if (v < min)
            throw Error(node, min == 0 ? $"{path} must not be negative" : $"{path} must be at least {min}");
        if (v > max)
            throw Error(node, $"{path} must be at most {max}");
        return v;
    }

    /// <summary>A non-negative 64-bit count (cycles, accesses, seeds); decimal or 0x hex.</summary>
    /// <summary>
    /// Latest simulated time a scenario may name: 2^62 cycles (about 48 years at 3 GHz), far below the clock's
    /// 2^64, so that a run started that late still has room for everything it charges.
    /// </summary>
    public const ulong MaxCycles = 1UL << 62;

    /// <summary>A simulated time in cycles (<see cref="Unsigned"/>, at most <see cref="MaxCycles"/>).</summary>
    public ulong Cycles(YamlNode node, string path)
    {
        ulong v = Unsigned(node, path);
        if (v > MaxCycles)
            throw Error(node, $"{path} must be at most {MaxCycles} cycles (2^62, about 48 years at 3 GHz: the simulated clock needs room after it)");
        return v;
    }

    public ulong Unsigned(YamlNode node, string path)
    {
        string t = StripGroups(Text(node, path).Trim());
        if (t.StartsWith('-') && t.Length > 1 && char.IsAsciiDigit(t[1]))
            throw Error(node, $"{path} must not be negative");
        bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong v)
            : ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        if (!ok)
            throw Error(node, $"{path} must be a whole number");
        return v;
    }

    /// <summary>A positive decimal number (e.g. GHz).</summary>
    public double Positive(YamlNode node, string path)
    {
        string t = Text(node, path).Trim();
        if (!double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw Error(node, $"{path} must be a number");
        if (v <= 0)
            throw Error(node, $"{path} must be greater than 0");
        return v;
    }

    /// <summary>A virtual address: 0x hex (digit groups may be separated by '_') or decimal.</summary>
    public ulong Address(YamlNode node, string path)
    {
        string t = StripGroups(Text(node, path).Trim());
        ulong v = 0;
        bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? t.Length > 2 && ulong.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v)
            : ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        if (!ok)
            throw Error(node, $"{path} is not an address (use 0x hex such as 0x7f0000000000, or decimal)");
        return v;
    }

    /// <summary>true/false (also on/off, yes/no, as YAML 1.1 users expect).</summary>
    public bool Bool(YamlNode node, string path)
    {
        switch (Text(node, path).Trim().ToLowerInvariant())
        {
            case "true" or "on" or "yes": return true;
            case "false" or "off" or "no": return false;
            default: throw Error(node, $"{path} must be true or false (or on/off)");
        }
    }

    /// <summary>One of a fixed set of words; returns its index in <paramref name="choices"/>.</summary>
    public int Choice(YamlNode node, string path, params string[] choices)
    {
        string t = Text(node, path).Trim();
        int i = Array.IndexOf(choices, t);
        if (i < 0)
            throw Error(node, $"{path} must be one of: {string.Join(", ", choices)}");
        return i;
    }

    public YamlSequenceNode Sequence(YamlNode node, string path) =>
        node as YamlSequenceNode ?? throw Error(node, $"{path} must be a list (entries starting with '- ')");

    // Only between digits: "1_000" is fine, "_1" or "1__0" are not numbers.
    private static string StripGroups(string t)
    {
        if (!t.Contains('_'))
            return t;
        for (int i = 0; i < t.Length; i++)
            if (t[i] == '_' && (i == 0 || i == t.Length - 1 || !char.IsAsciiHexDigit(t[i - 1]) || !char.IsAsciiHexDigit(t[i + 1])))
                return t;
        return t.Replace("_", "", StringComparison.Ordinal);
    }
}
