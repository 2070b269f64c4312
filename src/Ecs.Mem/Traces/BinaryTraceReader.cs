using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Reads the EcsMem binary trace format (<see cref="BinaryTraceFormat"/>), versions 1 and 2. Records are read in
/// 1 MiB blocks and reinterpreted in place; decoding allocates nothing after construction.
/// Validates the header, every record's kind and reserved bytes (and in version 2 that the thread id fits
/// <see cref="MemoryAccess.Thread"/>), the record count declared in the header (when non-zero) and a truncated
/// final record. Version-1 records read with thread 0.
/// </summary>
public sealed class BinaryTraceReader : ITraceReader, IPageReader
{
    /// <summary>Page numbers for <see cref="ReadPages"/>: address &gt;&gt; 12 (4 KiB pages), as the ideal mode numbers them.</summary>
    private const int PageShift = 12;

    private const int BlockBytes = 1 << 20;

    private readonly Stream _stream;
    private readonly byte[] _block = new byte[BlockBytes];
    private readonly ulong _declaredCount;
    private readonly int _recordSize;
    private int _start;       // first unread byte in _block
    private int _end;         // end of valid bytes in _block
    private long _recordsRead;
    private bool _eof;

    public BinaryTraceReader(Stream stream, string sourceName)
    {
        _stream = stream;
        SourceName = sourceName;
        Span<byte> header = stackalloc byte[BinaryTraceFormat.HeaderSize];
        int n = TraceFile.ReadChecked(stream, header, sourceName, 0);
        if (n < BinaryTraceFormat.Magic.Length || !BinaryTraceFormat.HasMagic(header))
            throw new InputException(sourceName, 0, Printable(header[..Math.Min(n, 8)]), "not an EcsMem binary trace (bad magic number)");
        if (n < BinaryTraceFormat.HeaderSize)
            throw new InputException(sourceName, 0, $"{n} bytes", $"binary trace header truncated (needs {BinaryTraceFormat.HeaderSize} bytes)");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
        if (version is not (BinaryTraceFormat.Version or BinaryTraceFormat.Version2))
            throw new InputException(sourceName, 0, version.ToString(CultureInfo.InvariantCulture),
                $"unsupported binary trace version (this reader knows versions {BinaryTraceFormat.Version} and {BinaryTraceFormat.Version2})");
        Version = version;
        _recordSize = BinaryTraceFormat.RecordSizeOf(version);
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
        if (flags != 0)
            throw new InputException(sourceName, 0, $"0x{flags:x4}", "unknown binary trace header flags");
        uint recordSize = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (recordSize != (uint)_recordSize)
            throw new InputException(sourceName, 0, recordSize.ToString(CultureInfo.InvariantCulture),
                version == BinaryTraceFormat.Version
                    ? $"binary trace record size must be {_recordSize}"
                    : $"binary trace record size must be {_recordSize} in version {version}");
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[24..]) != 0)
            throw new InputException(sourceName, 0, Convert.ToHexString(header[24..32]), "binary trace header reserved bytes must be 0");
        _declaredCount = BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
    }

    public string SourceName { get; }

    /// <summary>Record count from the header, or 0 when the writer did not know it.</summary>
    public ulong DeclaredCount => _declaredCount;

    /// <summary>The file's format version: 1 (no thread ids) or 2 (with thread ids).</summary>
    public ushort Version { get; }

    public int Read(Span<MemoryAccess> buffer) => ReadRecords(buffer, default, pages: false);

    /// <summary>
    /// The next records' page numbers (address &gt;&gt; 12), with every check <see cref="Read"/> makes and the same
    /// errors, but no <see cref="MemoryAccess"/> built: what the ideal mode replays.
    /// </summary>
    public int ReadPages(Span<ulong> pages) => ReadRecords(default, pages, pages: true);

    /// <summary>Decodes the next records into <paramref name="accesses"/>, or into <paramref name="pageNumbers"/> when <paramref name="pages"/>.</summary>
    private int ReadRecords(Span<MemoryAccess> accesses, Span<ulong> pageNumbers, bool pages)
    {
        int capacity = pages ? pageNumbers.Length : accesses.Length;
        int written = 0;
        while (written < capacity)
        {
            if (_declaredCount != 0 && (ulong)_recordsRead == _declaredCount)
            {
                EnsureNoTrailingData();
                break;
            }
            int available = (_end - _start) / _recordSize;
            if (available == 0)
            {
                if (_eof || !Refill())
                    break;
                continue;
            }
            int take = Math.Min(available, capacity - written);
            if (_declaredCount != 0)
                take = (int)Math.Min((ulong)take, _declaredCount - (ulong)_recordsRead);
            var bytes = _block.AsSpan(_start, take * _recordSize);
            if (_recordSize == BinaryTraceFormat.RecordSize)
            {
                var records = MemoryMarshal.Cast<byte, BinaryTraceRecord>(bytes);
                if (pages) DecodePages(records, pageNumbers.Slice(written, take));
                else Decode(records, accesses.Slice(written, take));
            }
            else
            {
                var records = MemoryMarshal.Cast<byte, BinaryTraceRecordV2>(bytes);
                if (pages) DecodePages(records, pageNumbers.Slice(written, take));
                else Decode(records, accesses.Slice(written, take));
            }
            _start += take * _recordSize;
            written += take;
            _recordsRead += take;
        }
        return written;
    }

    /// <summary>
    /// Version-1 records to page numbers. The checks of <see cref="Decode(ReadOnlySpan{BinaryTraceRecord}, Span{MemoryAccess})"/>
    /// are folded into one value with no branch per record (a bit of <see cref="BinaryTraceRecord.HeadZeroMask"/>
    /// set, or a size of 0, makes it non-zero); only when it is non-zero are the records checked one by one, to
    /// throw for the first bad one, as <see cref="Read"/> does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodePages(ReadOnlySpan<BinaryTraceRecord> records, Span<ulong> output)
    {
        ref ulong dst = ref MemoryMarshal.GetReference(output);
        ref BinaryTraceRecord src = ref MemoryMarshal.GetReference(records);
        ulong bad = 0;
        int i = 0;
        if (Sse2.IsSupported)
        {
            // Two records a step: their heads and their addresses gathered into one vector each (unpack low/high),
            // the addresses shifted and stored, the heads folded into the check as below.
            Vector128<ulong> zeroMask = Vector128.Create(BinaryTraceRecord.HeadZeroMask);
            Vector128<ulong> badPair = Vector128<ulong>.Zero;
            ref ulong words = ref Unsafe.As<BinaryTraceRecord, ulong>(ref src);
            for (; i + 2 <= records.Length; i += 2)
            {
                Vector128<ulong> a = Vector128.LoadUnsafe(ref words, (nuint)(2 * i));
                Vector128<ulong> b = Vector128.LoadUnsafe(ref words, (nuint)(2 * i + 2));
                Vector128<ulong> heads = Sse2.UnpackLow(a, b);
                Vector128.ShiftRightLogical(Sse2.UnpackHigh(a, b), PageShift).StoreUnsafe(ref dst, (nuint)i);
                badPair |= (heads & zeroMask) | Vector128.ShiftRightLogical(Vector128.ShiftRightLogical(heads, 48) - Vector128<ulong>.One, 63);
            }
            bad = badPair.GetElement(0) | badPair.GetElement(1);
        }
        for (; i < records.Length; i++)
        {
            ref BinaryTraceRecord r = ref Unsafe.Add(ref src, i);
            ulong head = r.Head;
            // ((size - 1) >> 63) is 1 exactly when the size (bits 48..63) is 0.
            bad |= (head & BinaryTraceRecord.HeadZeroMask) | (((head >> 48) - 1) >> 63);
            Unsafe.Add(ref dst, i) = r.Address >> PageShift;
        }
        if (bad != 0)
            Decode(records, new MemoryAccess[records.Length]); // throws for the first bad record
    }

    /// <summary>Version-2 records to page numbers, checked as <see cref="DecodePages(ReadOnlySpan{BinaryTraceRecord}, Span{ulong})"/> checks version 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodePages(ReadOnlySpan<BinaryTraceRecordV2> records, Span<ulong> output)
    {
        ref ulong dst = ref MemoryMarshal.GetReference(output);
        ref BinaryTraceRecordV2 src = ref MemoryMarshal.GetReference(records);
        ulong bad = 0;
        for (int i = 0; i < records.Length; i++)
        {
            ref BinaryTraceRecordV2 r = ref Unsafe.Add(ref src, i);
            // Kind above 3 or a reserved bit; the process id's top bit; a thread id above 255; a size of 0.
            bad |= (r.Middle & (BinaryTraceRecordV2.NotSizeMask & ~3UL)) | (r.Process >> 31) | (r.Thread >> 8) | ((ulong)(r.Size - 1L) >> 63);
            Unsafe.Add(ref dst, i) = r.Address >> PageShift;
        }
        if (bad != 0)
            Decode(records, new MemoryAccess[records.Length]); // throws for the first bad record
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Decode(ReadOnlySpan<BinaryTraceRecord> records, Span<MemoryAccess> output)
    {
        // One cheap test per record: kind <= 3 and reserved == 0 is exactly KindAndReserved <= 3, a
        // process id must fit MemoryAccess.Process (an int), i.e. have its top bit clear, and an access has at least one byte.
        ref MemoryAccess dst = ref MemoryMarshal.GetReference(output);
        for (int i = 0; i < records.Length; i++)
        {
            ref readonly BinaryTraceRecord r = ref records[i];
            if ((r.KindAndReserved > 3) | ((int)r.Process < 0) | (r.Size == 0))
                BadRecord(r, _recordsRead + i + 1);
            Unsafe.Add(ref dst, i) = new MemoryAccess(r.Address, (int)r.Process, r.Size, (AccessKind)r.Kind);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Decode(ReadOnlySpan<BinaryTraceRecordV2> records, Span<MemoryAccess> output)
    {
        // Three cheap tests per record: kind <= 3 with all five reserved bytes 0 is exactly (Middle without the size
        // bits) <= 3; the process id must fit an int (top bit clear) and the thread id a byte (no bit above 7); size > 0.
        ref MemoryAccess dst = ref MemoryMarshal.GetReference(output);
        for (int i = 0; i < records.Length; i++)
        {
            ref readonly BinaryTraceRecordV2 r = ref records[i];
            if (((r.Middle & BinaryTraceRecordV2.NotSizeMask) > 3) | (((r.Process >> 31) | (r.Thread >> 8)) != 0) | (r.Size == 0))
                BadRecord(r, _recordsRead + i + 1);
            Unsafe.Add(ref dst, i) = new MemoryAccess(r.Address, (int)r.Process, r.Size, (AccessKind)r.Kind, (byte)r.Thread);
        }
    }

    /// <summary>After the declared number of records the file must end: extra bytes mean a damaged or concatenated file.</summary>
    private void EnsureNoTrailingData()
    {
        if (_eof) return;
        int left = _end - _start;
        if (left == 0)
        {
            _start = _end = 0;
            left = TraceFile.ReadChecked(_stream, _block.AsSpan(0, _recordSize), SourceName, _recordsRead + 1);
            _end = left;
        }
        _eof = true;
        if (left > 0)
            throw new InputException(SourceName, _recordsRead + 1, Convert.ToHexString(_block, _start, Math.Min(left, _recordSize)),
                $"trailing data after the {_declaredCount} records the header declares");
    }

    /// <summary>Moves leftover bytes to the front and reads more; false when the stream is exhausted.</summary>
    private bool Refill()
    {
        int left = _end - _start;
        if (left > 0)
            Buffer.BlockCopy(_block, _start, _block, 0, left);
        _start = 0;
        _end = left;
        int n = TraceFile.ReadChecked(_stream, _block.AsSpan(_end), SourceName, _recordsRead + 1);
        _end += n;
        if (n == 0)
        {
            _eof = true;
            if (left > 0)
                throw new InputException(SourceName, _recordsRead + 1, Convert.ToHexString(_block, 0, left),
                    $"truncated record: {left} of {_recordSize} bytes");
            if (_declaredCount != 0 && (ulong)_recordsRead != _declaredCount)
                throw new InputException(SourceName, _recordsRead + 1, _recordsRead.ToString(),
                    $"trace ends early: the header declares {_declaredCount} records");
            return false;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void BadRecord(in BinaryTraceRecord r, long recordNumber)
    {
        string hex = Convert.ToHexString(MemoryMarshal.AsBytes(new ReadOnlySpan<BinaryTraceRecord>(in r)));
        if (r.Kind > 3)
            throw new InputException(SourceName, recordNumber, hex, $"unknown access kind {r.Kind} (expected 0-3)");
        if (r.Reserved != 0)
            throw new InputException(SourceName, recordNumber, hex, $"reserved byte must be 0 (is {r.Reserved})");
        if ((int)r.Process < 0)
            throw new InputException(SourceName, recordNumber, hex, $"process id {r.Process} is larger than {int.MaxValue}");
        throw new InputException(SourceName, recordNumber, hex, "access size is 0 (an access covers 1 to 65535 bytes)");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void BadRecord(in BinaryTraceRecordV2 r, long recordNumber)
    {
        string hex = Convert.ToHexString(MemoryMarshal.AsBytes(new ReadOnlySpan<BinaryTraceRecordV2>(in r)));
        if (r.Kind > 3)
            throw new InputException(SourceName, recordNumber, hex, $"unknown access kind {r.Kind} (expected 0-3)");
        if (r.Reserved != 0)
            throw new InputException(SourceName, recordNumber, hex, $"reserved byte 9 must be 0 (is {r.Reserved})");
        if (r.Reserved2 != 0)
            throw new InputException(SourceName, recordNumber, hex, $"reserved bytes 12-15 must be 0 (are 0x{r.Reserved2:x8})");
        if ((int)r.Process < 0)
            throw new InputException(SourceName, recordNumber, hex, $"process id {r.Process} is larger than {int.MaxValue}");
        if (r.Thread >> 8 != 0)
            throw new InputException(SourceName, recordNumber, hex, $"thread id {r.Thread} is larger than {MemoryAccess.MaxThread} (the most a simulated access carries)");
        throw new InputException(SourceName, recordNumber, hex, "access size is 0 (an access covers 1 to 65535 bytes)");
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
            chars[i] = bytes[i] is >= 0x20 and < 0x7F ? (char)bytes[i] : '.';
        return new string(chars);
    }

    public void Dispose() => _stream.Dispose();
}
