using System.Globalization;
using System.Text;

namespace EcsMem.Diagnostics;

/// <summary>
/// Bad user input: a malformed trace line, an unknown option, an impossible configuration value.
/// The CLI turns it into one line on stderr and exit code 2, never a stack trace.
/// </summary>
/// <remarks>
/// The message is the one place where input text meets the terminal, so every part of it is escaped here
/// (<see cref="Escape"/>): a control byte in a trace line, a file name or a decoder's message (ESC, NUL, CR,
/// LF, ...) is shown as <c>\x1b</c>, <c>\0</c>, <c>\r</c>, <c>\n</c>, so the message is always one line and
/// cannot drive the terminal. <see cref="Value"/> keeps the raw text for callers that want it.
/// </remarks>
public sealed class InputException : Exception
{
    /// <summary>Longest value shown in the message (in characters of the raw value, before escaping).</summary>
    public const int MaxShownValue = 80;

    public InputException(string source, long line, string value, string problem)
        : base(Format(source, line, value, problem))
    {
        Origin = source;
        Line = line;
        Value = value;
        Problem = problem;
    }

    /// <summary>File path, option name or other origin of the bad input.</summary>
    public string Origin { get; }

    /// <summary>1-based line (or record) number, or 0 when the input has no lines (an option).</summary>
    public long Line { get; }

    /// <summary>The offending text, as found.</summary>
    public string Value { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }

    private static string Format(string source, long line, string value, string problem)
    {
        string shown = value.Length > MaxShownValue ? value[..(MaxShownValue - 3)] + "..." : value;
        string where = line > 0 ? $"{Escape(source)}:{line.ToString(CultureInfo.InvariantCulture)}" : Escape(source);
        return $"{where}: {Escape(problem)} (got '{Escape(shown)}')";
    }

    /// <summary>
    /// <paramref name="text"/> with every control character escaped: <c>\0 \t \n \r</c>, other C0/C1 controls and
    /// DEL as <c>\xHH</c> (ESC is <c>\x1b</c>), line/paragraph separators and unpaired surrogates as <c>\uHHHH</c>.
    /// Printable text (backslashes included) is unchanged.
    /// </summary>
    public static string Escape(string text)
    {
        int i = 0;
        while (i < text.Length && !NeedsEscape(text, i)) i++;
        if (i == text.Length) return text;
        var sb = new StringBuilder(text.Length + 16);
        sb.Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
                continue;
            }
            if (!NeedsEscape(text, i))
            {
                sb.Append(c);
                continue;
            }
            switch (c)
            {
                case '\0': sb.Append("\\0"); break;
                case '\t': sb.Append("\\t"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (c <= '\u00FF') sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
            }
        }
        return sb.ToString();
    }

    private static bool NeedsEscape(string text, int i)
    {
        char c = text[i];
        if (c < ' ' || c is >= '\u007F' and <= '\u009F' or '\u2028' or '\u2029') return true;
        if (char.IsHighSurrogate(c)) return i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]);
        if (char.IsLowSurrogate(c)) return i == 0 || !char.IsHighSurrogate(text[i - 1]);
        return false;
    }
}
