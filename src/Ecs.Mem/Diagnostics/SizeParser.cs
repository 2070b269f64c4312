using System.Globalization;

namespace EcsMem.Diagnostics;

/// <summary>Parses byte sizes written as 4096, 64K, 64KiB, 32M, 2G (binary multiples, as lscpu prints them).</summary>
public static class SizeParser
{
    public static long Parse(string text, string source, long line, string what)
    {
        string s = text.Trim();
        long mult = 1;
        string digits = s;
        string upper = s.ToUpperInvariant();
        foreach (var (suffix, m) in Suffixes)
        {
            if (upper.EndsWith(suffix, StringComparison.Ordinal))
            {
                mult = m;
                digits = s[..^suffix.Length];
                break;
            }
        }
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n < 0)
            throw new InputException(source, line, text, $"{what} is not a size (use e.g. 4096, 64K, 32M, 2G)");
        if (n > long.MaxValue / mult)
            throw new InputException(source, line, text, $"{what} is too large");
        return n * mult;
    }

    private static readonly (string, long)[] Suffixes =
    [
        ("KIB", 1L << 10), ("MIB", 1L << 20), ("GIB", 1L << 30), ("TIB", 1L << 40),
        ("KB", 1L << 10), ("MB", 1L << 20), ("GB", 1L << 30), ("TB", 1L << 40),
        ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30), ("T", 1L << 40), ("B", 1),
    ];
}
