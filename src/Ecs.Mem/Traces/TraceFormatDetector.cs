using System.Buffers.Binary;
using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// <c>--trace-format auto</c>: names the format of a (decompressed) trace from its first bytes.
/// <list type="number">
/// <item>EcsMem's magic number → <c>binary</c>.</item>
/// <item>Text (no NUL and no other control byte but tab, CR, LF in the sample): the first non-blank, non-comment
/// lines decide, all of them having to agree: Lackey's <c>I  ADDR,N</c> / <c> L|S|M ADDR,N</c> (and its
/// <c>==pid==</c> banner) → <c>lackey</c>; <c>IP: R|W ADDR</c> → <c>pinatrace</c>; a lone decimal number →
/// <c>pages</c>; a line with a comma whose first field is a decimal number → <c>csv</c>: in the writer's layout
/// (<see cref="CsvTraceLayout.Default"/>) when the lines are <c>N,N,read|write</c>, else <c>csv:obj-id-col=1</c>
/// (the object id in the first column, nothing else read); a non-numeric first line is taken as a header.</item>
/// <item>Headerless binary: every whole record in the sample must be plausible. oracleGeneral (24 bytes):
/// next_access_vtime is -1 or later than the record's own 1-based number. ChampSim input_instr (64 bytes):
/// is_branch and branch_taken are 0 or 1 and ip and the six memory operands are user-space addresses (below
/// 2^56). cloudsuite (96 bytes): the same, plus zero padding bytes. Tried in that order, each needing at least
/// two whole records, so a short file is only detected when it has a magic number or is text.</item>
/// </list>
/// No match is bad input asking for <c>--trace-format</c>.
/// </summary>
public static class TraceFormatDetector
{
    /// <summary>Bytes looked at.</summary>
    public const int SampleBytes = 64 * 1024;

    /// <summary>The format name (a <see cref="TraceFormats"/> name, or <c>csv:has-header=true</c>), or null when nothing matches.</summary>
    public static string? Detect(ReadOnlySpan<byte> sample)
    {
        if (BinaryTraceFormat.HasMagic(sample)) return "binary";
        if (sample.IsEmpty) return null;
        if (IsText(sample)) return DetectText(sample);
        if (LooksLikeOracleGeneral(sample)) return "oracleGeneral";
        if (LooksLikeChampSim(sample, ChampSimTraceReader.RecordSize)) return "champsim";
        if (LooksLikeChampSim(sample, ChampSimTraceReader.CloudSuiteRecordSize)) return "cloudsuite";
        return null;
    }

    /// <summary>The reader factory behind the <c>auto</c> format: sniffs the stream, then hands it (replayed) to the detected reader.</summary>
    public static ITraceReader Open(Stream stream, string sourceName)
    {
        var head = new byte[SampleBytes];
        int n = TraceFile.ReadChecked(stream, head, sourceName, 0);
        string format = Detect(head.AsSpan(0, n))
            ?? throw new InputException(sourceName, 0, Preview(head.AsSpan(0, Math.Min(n, 16))),
                "cannot tell the trace format from its content; give it with --trace-format (or --from)");
        var replay = new HeadReplayStream(head[..n], stream);
        return TraceFormats.Get(format, sourceName).Reader!(replay, sourceName);
    }

    private static string Preview(ReadOnlySpan<byte> b) => Convert.ToHexString(b);

    private static bool IsText(ReadOnlySpan<byte> s)
    {
        foreach (byte b in s)
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        return true;
    }

    private static string? DetectText(ReadOnlySpan<byte> sample)
    {
        // The last line may be cut by the sample's end: only whole lines are judged (unless the sample is all there is).
        int lastNl = sample.LastIndexOf((byte)'\n');
        var text = lastNl >= 0 ? sample[..(lastNl + 1)] : sample;
        string? verdict = null;
        int judged = 0;
        bool first = true;
        while (!text.IsEmpty && judged < 64)
        {
            int nl = text.IndexOf((byte)'\n');
            var line = nl < 0 ? text : text[..nl];
            text = nl < 0 ? [] : text[(nl + 1)..];
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            if (TextFields.IsEmpty(line)) continue;
            string? kind = Classify(line, first);
            first = false;
            if (kind == "skip") continue;
            if (kind is null || (verdict is not null && kind != verdict && !(verdict.StartsWith("csv", StringComparison.Ordinal) && kind.StartsWith("csv", StringComparison.Ordinal))))
                return null;
            verdict ??= kind;
            judged++;
        }
        return verdict;
    }

    private static string? Classify(ReadOnlySpan<byte> line, bool first)
    {
        if (line.StartsWith("=="u8) || line[0] == (byte)'#') return "skip"; // Valgrind banner, comments, #eof
        if (line.Length > 3 && ((line[0] == (byte)'I' && line[1] == (byte)' ' && line[2] == (byte)' ')
            || (line[0] == (byte)' ' && line[1] is (byte)'L' or (byte)'S' or (byte)'M' && line[2] == (byte)' ')) && line.IndexOf((byte)',') > 0)
            return "lackey";
        var rest = line;
        var f1 = TextFields.Next(ref rest);
        var f2 = TextFields.Next(ref rest);
        if (f1.Length > 1 && f1[^1] == (byte)':' && f2.Length == 1 && f2[0] is (byte)'R' or (byte)'W') return "pinatrace";
        if (f2.IsEmpty && TextFields.TryParseDecimal(f1, ulong.MaxValue, out _)) return "pages";
        int comma = line.IndexOf((byte)',');
        if (comma > 0)
        {
            var firstField = line[..comma].Trim((byte)' ').Trim((byte)'"');
            if (TextFields.TryParseDecimal(firstField, ulong.MaxValue, out _))
                return IsWriterLayout(line) ? "csv" : "csv:obj-id-col=1";
            if (first) return "csv:obj-id-col=1,has-header=true";
        }
        return null;
    }

    /// <summary>True for a line of <see cref="CsvTraceLayout.Default"/> (<c>obj_id,obj_size,op</c>, op read or write).</summary>
    private static bool IsWriterLayout(ReadOnlySpan<byte> line)
    {
        int c1 = line.IndexOf((byte)',');
        var rest = line[(c1 + 1)..];
        int c2 = rest.IndexOf((byte)',');
        if (c2 < 0) return false;
        var op = rest[(c2 + 1)..];
        return TextFields.TryParseDecimal(rest[..c2], ulong.MaxValue, out _) && (op.SequenceEqual("read"u8) || op.SequenceEqual("write"u8));
    }

    private static bool LooksLikeOracleGeneral(ReadOnlySpan<byte> s)
    {
        int records = s.Length / OracleGeneralReader.RecordSize;
        if (records < 2) return false;
        for (int i = 0; i < records; i++)
        {
            long next = BinaryPrimitives.ReadInt64LittleEndian(s[(i * OracleGeneralReader.RecordSize + 16)..]);
            if (next != -1 && next <= i + 1) return false;
        }
        return true;
    }

    private static bool LooksLikeChampSim(ReadOnlySpan<byte> s, int recordSize)
    {
        int records = s.Length / recordSize;
        if (records < 2) return false;
        bool cloud = recordSize == ChampSimTraceReader.CloudSuiteRecordSize;
        int memStart = cloud ? 24 : 16, memEnd = cloud ? 88 : 64;
        for (int i = 0; i < records; i++)
        {
            var r = s.Slice(i * recordSize, recordSize);
            if (r[8] > 1 || r[9] > 1) return false;
            if (BinaryPrimitives.ReadUInt64LittleEndian(r) >> 56 != 0) return false;
            for (int o = memStart; o < memEnd; o += 8)
                if (BinaryPrimitives.ReadUInt64LittleEndian(r[o..]) >> 56 != 0) return false;
            if (cloud && (r[18..24].IndexOfAnyExcept((byte)0) >= 0 || r[90..96].IndexOfAnyExcept((byte)0) >= 0)) return false;
        }
        return true;
    }
}
