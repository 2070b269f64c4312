using System.Buffers.Binary;
using System.Globalization;
using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Reads libCacheSim's oracleGeneral binary traces (<c>*.oracleGeneral.bin</c>, often <c>.zst</c>): packed
/// little-endian 24-byte records with no header, as libCacheSim's <c>oracleGeneralBin_read_one_req</c> reads them:
/// u32 clock_time at 0, u64 obj_id at 4, u32 obj_size at 12, i64 next_access_vtime at 16 (the 1-based number of
/// the next request for the same object, or -1 for none).
/// A request becomes one page reference: a load of page obj_id (address obj_id × 4096, size 1, process 0), the
/// same access the <c>pages</c> format gives, so an object cache trace is a page-reference string. Requests of
/// size 0 are skipped, as libCacheSim's readers do by default (<c>ignore_size_zero_req</c>). Time, size and
/// next_access_vtime are not kept (the simulator computes its own future knowledge for OPT).
/// An object id above 2^52−1 (whose page would not fit a 64-bit address) and a truncated final record are errors
/// naming the 1-based record. Decoding allocates nothing after construction.
/// </summary>
public sealed class OracleGeneralReader : ITraceReader
{
    /// <summary>Bytes per record.</summary>
    public const int RecordSize = 24;

    private const int BlockBytes = RecordSize << 15;

    private readonly Stream _stream;
    private readonly byte[] _block = new byte[BlockBytes];
    private int _start;
    private int _end;
    private long _records;
    private bool _eof;

    public OracleGeneralReader(Stream stream, string sourceName)
    {
        _stream = stream;
        SourceName = sourceName;
    }

    public string SourceName { get; }

    /// <summary>Records read so far, including skipped size-0 ones.</summary>
    public long Records => _records;

    public int Read(Span<MemoryAccess> buffer)
    {
        int n = 0;
        while (n < buffer.Length)
        {
            if (_end - _start < RecordSize && !Refill())
                break;
            var r = _block.AsSpan(_start, RecordSize);
            _start += RecordSize;
            _records++;
            ulong id = BinaryPrimitives.ReadUInt64LittleEndian(r[4..]);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(r[12..]);
            if (size == 0) continue;
            if (id > PageListReader.MaxPage)
                throw new InputException(SourceName, _records, id.ToString(CultureInfo.InvariantCulture),
                    "object id is larger than 2^52-1, the largest page number a 64-bit address holds");
            buffer[n++] = new MemoryAccess(id << 12, 0, 1, AccessKind.Load);
        }
        return n;
    }

    private bool Refill() =>
        FixedRecords.Refill(_stream, _block, ref _start, ref _end, ref _eof, RecordSize, SourceName, _records);

    public void Dispose() => _stream.Dispose();
}
