using System.Globalization;
using System.Runtime.InteropServices;
using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Writes the EcsMem binary trace format. The header's record count is patched in on
/// <see cref="Complete"/>, so readers can detect a file cut short.
/// </summary>
/// <remarks>
/// The version is chosen when the writer is created and never guessed from the data: version 1 (the default, what
/// <c>ecsmem gen</c> and <c>convert</c> write, so their outputs stay byte-identical) or version 2 (24-byte records with
/// a thread id). The header goes out before the first access is seen, so the writer cannot switch versions half-way;
/// instead a version-1 writer refuses an access with a thread id other than 0 (an <see cref="InputException"/> naming
/// the output and the record number) rather than silently dropping it.
/// </remarks>
public sealed class BinaryTraceWriter : ITraceWriter
{
    private const int BlockRecords = 1 << 14;

    private readonly AtomicFileOutput _out;
    private readonly BinaryTraceRecord[]? _block;
    private readonly BinaryTraceRecordV2[]? _blockV2;
    private int _used;
    private ulong _count;

    /// <summary>A writer of <paramref name="version"/> (<see cref="BinaryTraceFormat.Version"/> = 1 or <see cref="BinaryTraceFormat.Version2"/>).</summary>
    public BinaryTraceWriter(string path, ushort version = BinaryTraceFormat.Version)
    {
        if (version is not (BinaryTraceFormat.Version or BinaryTraceFormat.Version2))
            throw new ArgumentOutOfRangeException(nameof(version), version, "binary trace versions are 1 and 2");
        Version = version;
        if (version == BinaryTraceFormat.Version)
            _block = new BinaryTraceRecord[BlockRecords];
        else
            _blockV2 = new BinaryTraceRecordV2[BlockRecords];
        _out = new AtomicFileOutput(path);
        Span<byte> header = stackalloc byte[BinaryTraceFormat.HeaderSize];
        BinaryTraceFormat.WriteHeader(header, 0, version);
        _out.Stream.Write(header);
    }

    public string DestinationName => _out.Path;

    /// <summary>The format version being written (1 or 2).</summary>
    public ushort Version { get; }

    public void Write(ReadOnlySpan<MemoryAccess> accesses)
    {
        if (_block is { } block)
        {
            for (int i = 0; i < accesses.Length; i++)
            {
                ref readonly MemoryAccess a = ref accesses[i];
                if (a.Thread != 0)
                    throw new InputException(DestinationName, (long)_count + i + 1, a.Thread.ToString(CultureInfo.InvariantCulture),
                        "a version-1 binary trace has no thread ids; this access's thread id needs version 2");
                if (_used == BlockRecords) Flush();
                ref BinaryTraceRecord r = ref block[_used++];
                r.Process = (uint)a.Process;
                r.KindAndReserved = (byte)a.Kind;
                r.Size = a.Size;
                r.Address = a.Address;
            }
        }
        else
        {
            var blockV2 = _blockV2!;
            foreach (ref readonly MemoryAccess a in accesses)
            {
                if (_used == BlockRecords) Flush();
                // Every field is assigned, so the reserved bytes of a reused slot are zeroed too.
                ref BinaryTraceRecordV2 r = ref blockV2[_used++];
                r.Process = (uint)a.Process;
                r.Thread = a.Thread;
                r.Middle = (byte)a.Kind | ((ulong)a.Size << 16);
                r.Address = a.Address;
            }
        }
        _count += (ulong)accesses.Length;
    }

    private void Flush()
    {
        if (_block is not null)
            _out.Stream.Write(MemoryMarshal.AsBytes(_block.AsSpan(0, _used)));
        else
            _out.Stream.Write(MemoryMarshal.AsBytes(_blockV2.AsSpan(0, _used)));
        _used = 0;
    }

    public void Complete()
    {
        Flush();
        Span<byte> header = stackalloc byte[BinaryTraceFormat.HeaderSize];
        BinaryTraceFormat.WriteHeader(header, _count, Version);
        _out.Stream.Position = 0;
        _out.Stream.Write(header);
        _out.Commit();
    }

    public void Dispose() => _out.Dispose();
}
