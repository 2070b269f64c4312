using System.Globalization;
using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Where the fields of a CSV block/object trace are, in libCacheSim's own parameter syntax
/// (<c>-t csv -t-params "..."</c>): <c>obj-id-col=N</c>, <c>time-col=N</c>, <c>obj-size-col=N</c>, <c>op-col=N</c>
/// (1-based columns, 0 = absent), <c>has-header=true|false</c>, <c>delimiter=C</c> (one character; <c>delimiter=,</c>
/// as libCacheSim writes it, or <c>\t</c>, <c>tab</c>, <c>space</c>, <c>comma</c>, <c>semicolon</c>).
/// As in libCacheSim, a column not named is absent and <c>obj-id-col</c> is required; plain <c>csv</c> (no
/// parameters) is <see cref="Default"/>, the layout <see cref="CsvTraceWriter"/> writes: <c>obj_id,obj_size,op</c>,
/// no header.
/// </summary>
public sealed record CsvTraceLayout(int ObjIdColumn = 1, int TimeColumn = 0, int ObjSizeColumn = 2, int OpColumn = 3,
    bool HasHeader = false, byte Delimiter = (byte)',')
{
    /// <summary>The layout <see cref="CsvTraceWriter"/> writes.</summary>
    public static readonly CsvTraceLayout Default = new();

    /// <summary>Parses libCacheSim-style parameters; columns left out are absent, <c>obj-id-col</c> must be given.</summary>
    public static CsvTraceLayout Parse(string parameters, string source = "command line", long line = 0)
    {
        var layout = new CsvTraceLayout(ObjIdColumn: 0, ObjSizeColumn: 0, OpColumn: 0);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int i = 0;
        while (i < parameters.Length)
        {
            if (parameters[i] is ',' or ' ') { i++; continue; }
            int eq = parameters.IndexOf('=', i);
            if (eq < 0)
                throw new InputException(source, line, parameters[i..], "CSV parameter needs KEY=VALUE (e.g. obj-id-col=2)");
            string key = parameters[i..eq].Trim().Replace('_', '-').ToLowerInvariant();
            int valueStart = eq + 1;
            int comma = key == "delimiter" && valueStart < parameters.Length && parameters[valueStart] == ','
                ? valueStart + 1 // "delimiter=," : the comma is the value, as libCacheSim reads it
                : parameters.IndexOf(',', valueStart);
            if (comma < 0) comma = parameters.Length;
            string value = parameters[valueStart..comma];
            i = comma;
            if (!seen.Add(key))
                throw new InputException(source, line, key, "CSV parameter given twice");
            layout = key switch
            {
                "obj-id-col" or "obj-id-field" => layout with { ObjIdColumn = Column(value, key, source, line, min: 1) },
                "time-col" or "time-field" => layout with { TimeColumn = Column(value, key, source, line, min: 0) },
                "obj-size-col" or "obj-size-field" or "size-col" or "size-field" => layout with { ObjSizeColumn = Column(value, key, source, line, min: 0) },
                "op-col" or "op-field" => layout with { OpColumn = Column(value, key, source, line, min: 0) },
                "has-header" or "header" => layout with { HasHeader = Bool(value, key, source, line) },
                "delimiter" => layout with { Delimiter = DelimiterOf(value, source, line) },
                "obj-id-is-num" => Bool(value, key, source, line) ? layout
                    : throw new InputException(source, line, value, "obj-id-is-num=false (hashed string ids) is not supported: object ids must be decimal page numbers"),
                _ => throw new InputException(source, line, key,
                    "unknown CSV parameter (known: obj-id-col, time-col, obj-size-col, op-col, has-header, delimiter, obj-id-is-num)"),
            };
        }
        if (layout.ObjIdColumn == 0)
            throw new InputException(source, line, parameters, "CSV parameters need obj-id-col=N (the column of the object id)");
        int[] cols = [layout.ObjIdColumn, layout.TimeColumn, layout.ObjSizeColumn, layout.OpColumn];
        for (int a = 0; a < cols.Length; a++)
            for (int b = a + 1; b < cols.Length; b++)
                if (cols[a] != 0 && cols[a] == cols[b])
                    throw new InputException(source, line, cols[a].ToString(CultureInfo.InvariantCulture), "two CSV fields name the same column");
        return layout;
    }

    /// <summary>The number of columns a line must have at least.</summary>
    public int RequiredColumns => Math.Max(Math.Max(ObjIdColumn, TimeColumn), Math.Max(ObjSizeColumn, OpColumn));

    private static int Column(string value, string key, string source, long line, int min)
    {
        if (!int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int c) || c < min || c > 1024)
            throw new InputException(source, line, value, $"{key} must be a column number {min}-1024");
        return c;
    }

    private static bool Bool(string value, string key, string source, long line) => value.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new InputException(source, line, value, $"{key} must be true or false"),
    };

    private static byte DelimiterOf(string value, string source, long line) => value switch
    {
        "," or "" or "\\," or "comma" => (byte)',',
        "\\t" or "\t" or "tab" => (byte)'\t',
        " " or "space" => (byte)' ',
        ";" or "semicolon" => (byte)';',
        { Length: 1 } when value[0] is > ' ' and < (char)0x7F && !char.IsAsciiLetterOrDigit(value[0]) && value[0] is not ('.' or '-' or '+') => (byte)value[0],
        _ => throw new InputException(source, line, value, "delimiter must be one punctuation character, \\t, tab, space, comma or semicolon"),
    };
}
