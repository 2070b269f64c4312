using System.Runtime.InteropServices;

namespace EcsMem.Traces;

/// <summary>
/// Writes the EcsMem binary trace format. The header's record count is patched in on
/// <see cref="Complete"/>, so readers can detect a file cut short.
/// </summary>
public sealed class BinaryTraceWriter : ITraceWriter
{
    private const int BlockRecords = 1 << 14;

    private readonly AtomicFileOutput _out;
    private readonly BinaryTraceRecord[] _block = new BinaryTraceRecord[BlockRecords];
    private int _used;
    private ulong _count;

    public BinaryTraceWriter(string path)
    {
        _out = new AtomicFileOutput(path);
        Span<byte> header = stackalloc byte[BinaryTraceFormat.HeaderSize];
        BinaryTraceFormat.WriteHeader(header, 0);
        _out.Stream.Write(header);
    }

    public string DestinationName => _out.Path;

    public void Write(ReadOnlySpan<MemoryAccess> accesses)
    {
        foreach (ref readonly MemoryAccess a in accesses)
        {
            if (_used == BlockRecords) Flush();
            ref BinaryTraceRecord r = ref _block[_used++];
            r.Process = (uint)a.Process;
            r.KindAndReserved = (byte)a.Kind;
            r.Size = a.Size;
            r.Address = a.Address;
        }
        _count += (ulong)accesses.Length;
    }

    private void Flush()
    {
        _out.Stream.Write(MemoryMarshal.AsBytes(_block.AsSpan(0, _used)));
        _used = 0;
    }

    public void Complete()
    {
        Flush();
        Span<byte> header = stackalloc byte[BinaryTraceFormat.HeaderSize];
        BinaryTraceFormat.WriteHeader(header, _count);
        _out.Stream.Position = 0;
        _out.Stream.Write(header);
        _out.Commit();
    }

    public void Dispose() => _out.Dispose();
}
