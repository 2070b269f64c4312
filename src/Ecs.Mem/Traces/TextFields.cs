using System.Text;

namespace EcsMem.Traces;

/// <summary>Allocation-free helpers for the text trace formats: field splitting and number parsing on UTF-8 bytes.</summary>
internal static class TextFields
{
    public static bool IsBlank(byte b) => b is (byte)' ' or (byte)'\t';

    /// <summary>Returns the next blank-separated field of <paramref name="rest"/> and advances past it; empty at end.</summary>
    public static ReadOnlySpan<byte> Next(ref ReadOnlySpan<byte> rest)
    {
        int i = 0;
        while (i < rest.Length && IsBlank(rest[i])) i++;
        int j = i;
        while (j < rest.Length && !IsBlank(rest[j])) j++;
        var field = rest[i..j];
        rest = rest[j..];
        return field;
    }

    /// <summary>True if only blanks remain.</summary>
    public static bool IsEmpty(ReadOnlySpan<byte> s)
    {
        foreach (byte b in s)
            if (!IsBlank(b)) return false;
        return true;
    }

    /// <summary>Parses 1-16 hex digits with an optional 0x/0X prefix.</summary>
    public static bool TryParseHex(ReadOnlySpan<byte> s, out ulong value)
    {
        value = 0;
        if (s.Length >= 2 && s[0] == (byte)'0' && (s[1] | 0x20) == (byte)'x') s = s[2..];
        if (s.Length is 0 or > 16) return false;
        ulong v = 0;
        foreach (byte c in s)
        {
            uint d = (uint)(c - '0');
            if (d > 9)
            {
                d = (uint)((c | 0x20) - 'a');
                if (d > 5) return false;
                d += 10;
            }
            v = (v << 4) | d;
        }
        value = v;
        return true;
    }

    /// <summary>Parses a non-negative decimal integer no larger than <paramref name="max"/>.</summary>
    public static bool TryParseDecimal(ReadOnlySpan<byte> s, ulong max, out ulong value)
    {
        value = 0;
        if (s.Length is 0 or > 20) return false;
        ulong v = 0;
        foreach (byte c in s)
        {
            uint d = (uint)(c - '0');
            if (d > 9) return false;
            if (v > (max - d) / 10) return false;
            v = v * 10 + d;
        }
        value = v;
        return true;
    }

    public static string Text(ReadOnlySpan<byte> s) => Encoding.UTF8.GetString(s);
}
