using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Reads CSV block/object traces as libCacheSim's csv reader takes them, with the columns given by a
/// <see cref="CsvTraceLayout"/>. Each line is one request for object obj_id, read as a reference to page
/// obj_id (address obj_id × 4096, size 1, process 0: the <c>pages</c> format's access). Fields are trimmed of
/// blanks and of one pair of double quotes; quoted delimiters are not supported. With an op column the request
/// is a load for <c>get gets read r</c> and a store for <c>set add replace cas append prepend incr decr write
/// w put update</c> (any case); <c>delete del</c> requests touch no page and are skipped; anything else is an
/// error. With a size column, size-0 requests are skipped (libCacheSim's <c>ignore_size_zero_req</c>). Time
/// and size are checked as decimal integers and not kept. Blank lines are skipped; a missing column, a bad
/// number or an object id above 2^52−1 is an error naming the line.
/// </summary>
public sealed class CsvTraceReader : ITraceReader
{
    private readonly TextLineReader _lines;
    private readonly CsvTraceLayout _layout;
    private readonly int _columns;
    private bool _headerSkipped;

    public CsvTraceReader(Stream stream, string sourceName, CsvTraceLayout? layout = null)
    {
        _lines = new TextLineReader(stream, sourceName);
        SourceName = sourceName;
        _layout = layout ?? CsvTraceLayout.Default;
        _columns = _layout.RequiredColumns;
    }

    public string SourceName { get; }

    public int Read(Span<MemoryAccess> buffer)
    {
        int n = 0;
        while (n < buffer.Length && _lines.TryReadLine(out var line))
        {
            if (TextFields.IsEmpty(line)) continue;
            if (_layout.HasHeader && !_headerSkipped)
            {
                _headerSkipped = true;
                continue;
            }
            if (ParseLine(line, out MemoryAccess a))
                buffer[n++] = a;
        }
        return n;
    }

    private bool ParseLine(ReadOnlySpan<byte> line, out MemoryAccess access)
    {
        access = default;
        ReadOnlySpan<byte> id = default, time = default, size = default, op = default;
        var rest = line;
        for (int c = 1; c <= _columns; c++)
        {
            int d = rest.IndexOf(_layout.Delimiter);
            var field = Trim(d < 0 ? rest : rest[..d]);
            if (c == _layout.ObjIdColumn) id = field;
            else if (c == _layout.TimeColumn) time = field;
            else if (c == _layout.ObjSizeColumn) size = field;
            else if (c == _layout.OpColumn) op = field;
            if (d < 0)
            {
                if (c < _columns)
                    throw Error(line, $"line has {c} columns; the layout needs {_columns}");
                break;
            }
            rest = rest[(d + 1)..];
        }
        if (_layout.TimeColumn != 0 && !TextFields.TryParseDecimal(time, ulong.MaxValue, out _))
            throw Error(time, $"bad time in column {_layout.TimeColumn} (expected a decimal integer)");
        ulong objSize = 1;
        if (_layout.ObjSizeColumn != 0 && !TextFields.TryParseDecimal(size, long.MaxValue, out objSize))
            throw Error(size, $"bad object size in column {_layout.ObjSizeColumn} (expected a decimal integer)");
        if (!TextFields.TryParseDecimal(id, ulong.MaxValue, out ulong page))
            throw Error(id, $"bad object id in column {_layout.ObjIdColumn} (expected a decimal integer)");
        if (page > PageListReader.MaxPage)
            throw Error(id, "object id is larger than 2^52-1, the largest page number a 64-bit address holds");
        AccessKind kind = AccessKind.Load;
        if (_layout.OpColumn != 0)
        {
            int k = OpKind(op);
            if (k < 0)
                throw Error(op, $"unknown operation in column {_layout.OpColumn} (expected get/read or set/write; delete is skipped)");
            if (k == 0) return false;
            kind = (AccessKind)k;
        }
        if (objSize == 0) return false;
        access = new MemoryAccess(page << 12, 0, 1, kind);
        return true;
    }

    /// <summary>1 = load, 2 = store, 0 = skip (delete), -1 = unknown.</summary>
    private static int OpKind(ReadOnlySpan<byte> op)
    {
        Span<byte> lower = stackalloc byte[8];
        if (op.IsEmpty || op.Length > lower.Length) return -1;
        for (int i = 0; i < op.Length; i++) lower[i] = (byte)(op[i] | (op[i] is >= (byte)'A' and <= (byte)'Z' ? 0x20 : 0));
        var s = lower[..op.Length];
        if (s.SequenceEqual("get"u8) || s.SequenceEqual("gets"u8) || s.SequenceEqual("read"u8) || s.SequenceEqual("r"u8)) return 1;
        if (s.SequenceEqual("set"u8) || s.SequenceEqual("add"u8) || s.SequenceEqual("replace"u8) || s.SequenceEqual("cas"u8)
            || s.SequenceEqual("append"u8) || s.SequenceEqual("prepend"u8) || s.SequenceEqual("incr"u8) || s.SequenceEqual("decr"u8)
            || s.SequenceEqual("write"u8) || s.SequenceEqual("w"u8) || s.SequenceEqual("put"u8) || s.SequenceEqual("update"u8)) return 2;
        if (s.SequenceEqual("delete"u8) || s.SequenceEqual("del"u8)) return 0;
        return -1;
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        s = s.Trim((byte)' ').Trim((byte)'\t');
        if (s.Length >= 2 && s[0] == (byte)'"' && s[^1] == (byte)'"') s = s[1..^1];
        return s;
    }

    private InputException Error(ReadOnlySpan<byte> text, string problem) =>
        new(SourceName, _lines.LineNumber, TextFields.Text(text), problem);

    public void Dispose() => _lines.Dispose();
}
