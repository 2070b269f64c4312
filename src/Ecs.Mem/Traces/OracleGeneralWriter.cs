using System.Buffers.Binary;

namespace EcsMem.Traces;

/// <summary>
/// Writes libCacheSim's oracleGeneral records (<see cref="OracleGeneralReader"/>), one per access: obj_id = the
/// access's page (address / 4096), obj_size = 4096, clock_time = 0 (a trace of accesses has no wall-clock
/// times), and next_access_vtime as libCacheSim's <c>traceConv</c> computes it: the 1-based number of the next
/// record with the same obj_id, or -1. The future is only known at the end, so records are streamed with -1 and
/// <see cref="Complete"/> makes one backward pass over the temporary file, patching each record from a map of
/// the next position of every page seen so far (memory: one entry per distinct page, as in traceConv).
/// Lost: kinds (a store reads back as a load), sizes, offsets within the page, process and thread ids.
/// </summary>
public sealed class OracleGeneralWriter : ITraceWriter
{
    private const int BlockRecords = 1 << 15;
    private const int PageShift = 12;

    private readonly AtomicFileOutput _out;
    private readonly byte[] _block = new byte[BlockRecords * OracleGeneralReader.RecordSize];
    private int _used;
    private long _count;

    public OracleGeneralWriter(string path) => _out = new AtomicFileOutput(path);

    public string DestinationName => _out.Path;

    public void Write(ReadOnlySpan<MemoryAccess> accesses)
    {
        foreach (ref readonly MemoryAccess a in accesses)
        {
            var r = _block.AsSpan(_used * OracleGeneralReader.RecordSize, OracleGeneralReader.RecordSize);
            BinaryPrimitives.WriteUInt32LittleEndian(r, 0);
            BinaryPrimitives.WriteUInt64LittleEndian(r[4..], a.Address >> PageShift);
            BinaryPrimitives.WriteUInt32LittleEndian(r[12..], 1u << PageShift);
            BinaryPrimitives.WriteInt64LittleEndian(r[16..], -1);
            _count++;
            if (++_used == BlockRecords) Flush();
        }
    }

    private void Flush()
    {
        _out.Stream.Write(_block, 0, _used * OracleGeneralReader.RecordSize);
        _used = 0;
    }

    public void Complete()
    {
        Flush();
        PatchNextAccess();
        _out.Commit();
    }

    /// <summary>traceConv's reverse pass: walks the records from the last to the first, filling next_access_vtime.</summary>
    private void PatchNextAccess()
    {
        var file = _out.Stream;
        var next = new Dictionary<ulong, long>();
        long end = _count;
        while (end > 0)
        {
            int n = (int)Math.Min(BlockRecords, end);
            long first = end - n;
            file.Position = first * OracleGeneralReader.RecordSize;
            var bytes = _block.AsSpan(0, n * OracleGeneralReader.RecordSize);
            file.ReadExactly(bytes);
            for (int i = n - 1; i >= 0; i--)
            {
                var r = bytes.Slice(i * OracleGeneralReader.RecordSize, OracleGeneralReader.RecordSize);
                ulong id = BinaryPrimitives.ReadUInt64LittleEndian(r[4..]);
                long position = first + i + 1; // 1-based
                BinaryPrimitives.WriteInt64LittleEndian(r[16..], next.TryGetValue(id, out long v) ? v : -1);
                next[id] = position;
            }
            file.Position = first * OracleGeneralReader.RecordSize;
            file.Write(bytes);
            end = first;
        }
        file.Position = _count * OracleGeneralReader.RecordSize;
    }

    public void Dispose() => _out.Dispose();
}
