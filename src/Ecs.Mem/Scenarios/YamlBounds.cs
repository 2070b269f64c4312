using System.Globalization;
using EcsMem.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace EcsMem.Scenarios;

/// <summary>
/// Limits checked on scenario text before and after the YAML parser sees it, so hostile input costs bounded time,
/// memory and stack: the document size and line length are checked while reading; the nesting depth (block
/// indentation levels, <c>- </c> entries and flow brackets) is found by a linear pre-scan before the recursive YAML
/// loader runs (100,000 nested brackets overflowed its stack); and the tree the loaded document expands to, with every
/// alias counted as a copy of its anchor, is bounded (a "billion laughs" document of a few aliases would otherwise
/// make the scenario reader walk 10^9 nodes).
/// </summary>
public static class YamlBounds
{
    /// <summary>Largest scenario document: 16 MiB (the built-in scenarios are a few KiB).</summary>
    public const int MaxDocumentBytes = 16 << 20;

    /// <summary>Longest line of a scenario: 1 MiB.</summary>
    public const int MaxLineChars = 1 << 20;

    /// <summary>Deepest nesting of collections: 64 (a scenario needs about 8).</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// Most nodes the document may expand to, aliases expanded: 10 million, about what a 16 MiB document can hold
    /// without aliases (a 70,000-event timeline is 1 million), so aliases may share but not multiply work.
    /// </summary>
    public const long MaxExpandedNodes = 10_000_000;

    /// <summary>Reads all of <paramref name="reader"/>, failing once the text exceeds <see cref="MaxDocumentBytes"/> characters.</summary>
    public static string ReadBounded(TextReader reader, string source)
    {
        var sb = new System.Text.StringBuilder();
        char[] chunk = new char[1 << 16];
        int n;
        while ((n = reader.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (sb.Length + n > MaxDocumentBytes)
                throw new InputException(source, 0, source,
                    $"scenario file larger than {MaxDocumentBytes >> 20} MiB (the limit for a scenario document)");
            sb.Append(chunk, 0, n);
        }
        return sb.ToString();
    }

    /// <summary>Reads the file at <paramref name="path"/> as UTF-8 text, at most <see cref="MaxDocumentBytes"/> characters (works on a FIFO or device too).</summary>
    public static string ReadFile(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var reader = new StreamReader(file, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var buffer = new char[1 << 16];
        var sb = new System.Text.StringBuilder();
        int n;
        while ((n = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            if (sb.Length + n > MaxDocumentBytes)
                throw new InputException(path, 0, path,
                    $"scenario file larger than {MaxDocumentBytes >> 20} MiB (the limit for a scenario document)");
            sb.Append(buffer, 0, n);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Fails on a line longer than <see cref="MaxLineChars"/> or nesting deeper than <see cref="MaxDepth"/>. The depth
    /// is over-estimated rather than under: quoted text and comments are skipped, but a bracket that opens a plain
    /// scalar's text (rare in a scenario) counts.
    /// </summary>
    public static void CheckText(string text, string source)
    {
        var indents = new List<int>();
        int flow = 0;
        char quote = '\0';
        int lineNo = 0;
        int pos = 0;
        while (pos <= text.Length)
        {
            int nl = text.IndexOf('\n', pos);
            int end = nl < 0 ? text.Length : nl;
            lineNo++;
            if (end - pos > MaxLineChars)
                throw new InputException(source, lineNo, text.Substring(pos, 80), $"line longer than {MaxLineChars} characters (1 MiB)");
            int i = pos;
            if (quote == '\0')
            {
                while (i < end && text[i] == ' ') i++;
                if (i < end && text[i] != '#' && text[i] != '\r')
                {
                    int indent = i - pos;
                    while (indents.Count > 0 && indents[^1] >= indent) indents.RemoveAt(indents.Count - 1);
                    indents.Add(indent);
                    // "- - - x": each sequence entry on the line opens one more level.
                    int dashes = 0;
                    while (i + 1 < end && text[i] == '-' && text[i + 1] == ' ')
                    {
                        dashes++;
                        i += 2;
                        while (i < end && text[i] == ' ') i++;
                    }
                    Check(indents.Count + dashes, source, lineNo, text, pos, end);
                }
            }
            for (; i < end; i++)
            {
                char c = text[i];
                if (quote != '\0')
                {
                    if (c == '\\' && quote == '"') i++;
                    else if (c == quote) quote = '\0';
                    continue;
                }
                switch (c)
                {
                    case '"' or '\'':
                        if (StartsValue(text, pos, i)) quote = c;
                        break;
                    case '#':
                        if (i == pos || text[i - 1] is ' ' or '\t') i = end;
                        break;
                    case '[' or '{':
                        flow++;
                        Check(indents.Count + flow, source, lineNo, text, pos, end);
                        break;
                    case ']' or '}':
                        if (flow > 0) flow--;
                        break;
                }
            }
            if (nl < 0) break;
            pos = nl + 1;
        }
    }

    /// <summary>Whether a quote at <paramref name="i"/> opens a quoted scalar: only at the start of a value (not inside plain text).</summary>
    private static bool StartsValue(string text, int lineStart, int i)
    {
        int j = i - 1;
        while (j >= lineStart && text[j] is ' ' or '\t') j--;
        return j < lineStart || text[j] is ':' or '-' or '[' or '{' or ',' or '?';
    }

    private static void Check(int depth, string source, int lineNo, string text, int pos, int end)
    {
        if (depth > MaxDepth)
            throw new InputException(source, lineNo, text.Substring(pos, Math.Min(80, end - pos)),
                $"YAML nested deeper than {MaxDepth} levels (a scenario needs far fewer)");
    }

    /// <summary>Fails when the loaded document, aliases expanded, has more than <see cref="MaxExpandedNodes"/> nodes.</summary>
    public static void CheckExpansion(YamlNode root, string source)
    {
        var sizes = new Dictionary<YamlNode, long>(ReferenceEqualityComparer.Instance);
        long total = Size(root, sizes, 0, source);
        if (total > MaxExpandedNodes)
            throw Expansion(root, source, total);
    }

    private static long Size(YamlNode node, Dictionary<YamlNode, long> sizes, int depth, string source)
    {
        if (sizes.TryGetValue(node, out long known))
        {
            if (known < 0)
                throw new InputException(source, YamlValues.LineOf(node), "*", "a YAML alias refers to a node that contains it");
            return known;
        }
        if (depth > MaxDepth)
            throw new InputException(source, YamlValues.LineOf(node), "", $"YAML nested deeper than {MaxDepth} levels");
        sizes[node] = -1;
        long size = 1;
        IEnumerable<YamlNode> children = node switch
        {
            YamlSequenceNode s => s.Children,
            YamlMappingNode m => m.Children.SelectMany(kv => new[] { kv.Key, kv.Value }),
            _ => [],
        };
        foreach (YamlNode child in children)
        {
            size += Size(child, sizes, depth + 1, source);
            if (size > MaxExpandedNodes)
                throw Expansion(node, source, size);
        }
        sizes[node] = size;
        return size;
    }

    private static InputException Expansion(YamlNode node, string source, long size) =>
        new(source, YamlValues.LineOf(node), size.ToString(CultureInfo.InvariantCulture),
            $"the YAML document expands (aliases counted as copies) to more than {MaxExpandedNodes} nodes");
}
