using System.Buffers.Binary;
using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Reads ChampSim's instruction traces (the DPC/CRC championship traces, usually <c>.xz</c>): fixed-size
/// little-endian records, one per executed instruction, as ChampSim's <c>inc/trace_instruction.h</c> declares them.
/// <list type="bullet">
/// <item><c>input_instr</c>, 64 bytes: u64 ip; u8 is_branch; u8 branch_taken; u8 destination_registers[2];
/// u8 source_registers[4]; u64 destination_memory[2]; u64 source_memory[4].</item>
/// <item><c>cloudsuite_instr</c>, 96 bytes: u64 ip; u8 is_branch; u8 branch_taken; u8 destination_registers[4];
/// u8 source_registers[4]; 6 bytes of padding; u64 destination_memory[4]; u64 source_memory[4]; u8 asid[2];
/// 6 bytes of padding.</item>
/// </list>
/// Each record becomes, in this order, an instruction fetch at ip, a load per non-zero source_memory entry and a
/// store per non-zero destination_memory entry (ChampSim's <c>ooo_model_instr</c> drops zero entries the same way
/// and sends sources to the load queue, destinations to the store queue). ChampSim has no access sizes: every
/// access touches the one 64-byte block holding its address, so every access here has size 1 (never straddling a
/// line). input_instr accesses belong to process 0; a cloudsuite record's fetch takes process asid[0] and its data
/// accesses asid[1] (ChampSim's instruction and data ASIDs). Registers and branch fields are not kept.
/// Records are read in 1 MiB blocks; decoding allocates nothing after construction. A file whose length is not a
/// whole number of records ends in a "truncated record" error naming the record.
/// </summary>
public sealed class ChampSimTraceReader : ITraceReader
{
    /// <summary>Size of ChampSim's input_instr record.</summary>
    public const int RecordSize = 64;

    /// <summary>Size of ChampSim's cloudsuite_instr record.</summary>
    public const int CloudSuiteRecordSize = 96;

    /// <summary>Most accesses one record yields: the fetch, 4 loads and (cloudsuite) 4 stores.</summary>
    public const int MaxAccessesPerRecord = 9;

    private const int BlockBytes = 1 << 20;

    private readonly Stream _stream;
    private readonly byte[] _block;
    private readonly int _recordSize;
    private readonly int _destinations;
    private readonly int _destOffset;
    private readonly int _srcOffset;
    private readonly MemoryAccess[] _pending = new MemoryAccess[MaxAccessesPerRecord];
    private int _pendingStart;
    private int _pendingEnd;
    private int _start;
    private int _end;
    private long _records;
    private bool _eof;

    /// <summary>Reads <paramref name="stream"/> as input_instr records, or cloudsuite_instr ones when <paramref name="cloudSuite"/>.</summary>
    public ChampSimTraceReader(Stream stream, string sourceName, bool cloudSuite = false)
    {
        _stream = stream;
        SourceName = sourceName;
        CloudSuite = cloudSuite;
        _recordSize = cloudSuite ? CloudSuiteRecordSize : RecordSize;
        _destinations = cloudSuite ? 4 : 2;
        _destOffset = cloudSuite ? 24 : 16;
        _srcOffset = _destOffset + 8 * _destinations;
        _block = new byte[BlockBytes - BlockBytes % _recordSize];
    }

    public string SourceName { get; }

    /// <summary>True for the 96-byte cloudsuite_instr layout.</summary>
    public bool CloudSuite { get; }

    /// <summary>Records (instructions) decoded so far.</summary>
    public long Records => _records;

    public int Read(Span<MemoryAccess> buffer)
    {
        int n = 0;
        while (n < buffer.Length)
        {
            if (_pendingStart < _pendingEnd)
            {
                int take = Math.Min(_pendingEnd - _pendingStart, buffer.Length - n);
                _pending.AsSpan(_pendingStart, take).CopyTo(buffer[n..]);
                _pendingStart += take;
                n += take;
                continue;
            }
            if (_end - _start < _recordSize && !Refill())
                break;
            var record = _block.AsSpan(_start, _recordSize);
            _start += _recordSize;
            _records++;
            if (buffer.Length - n >= MaxAccessesPerRecord)
            {
                n += Decode(record, buffer[n..]);
            }
            else
            {
                _pendingStart = 0;
                _pendingEnd = Decode(record, _pending);
            }
        }
        return n;
    }

    /// <summary>Writes one record's accesses (fetch, loads, stores) to <paramref name="output"/>; returns how many.</summary>
    private int Decode(ReadOnlySpan<byte> r, Span<MemoryAccess> output)
    {
        int instrProcess = 0, dataProcess = 0;
        if (CloudSuite)
        {
            instrProcess = r[88];
            dataProcess = r[89];
        }
        int n = 0;
        output[n++] = new MemoryAccess(BinaryPrimitives.ReadUInt64LittleEndian(r), instrProcess, 1, AccessKind.Instr);
        for (int i = 0; i < 4; i++)
        {
            ulong a = BinaryPrimitives.ReadUInt64LittleEndian(r[(_srcOffset + 8 * i)..]);
            if (a != 0) output[n++] = new MemoryAccess(a, dataProcess, 1, AccessKind.Load);
        }
        for (int i = 0; i < _destinations; i++)
        {
            ulong a = BinaryPrimitives.ReadUInt64LittleEndian(r[(_destOffset + 8 * i)..]);
            if (a != 0) output[n++] = new MemoryAccess(a, dataProcess, 1, AccessKind.Store);
        }
        return n;
    }

    /// <summary>Moves the partial record to the front and reads more; false at a clean end of the stream.</summary>
    private bool Refill() =>
        FixedRecords.Refill(_stream, _block, ref _start, ref _end, ref _eof, _recordSize, SourceName, _records);

    public void Dispose() => _stream.Dispose();
}
