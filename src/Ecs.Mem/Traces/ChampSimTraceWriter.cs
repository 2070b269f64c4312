using System.Buffers.Binary;
using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Writes ChampSim input_instr records (64 bytes, <see cref="ChampSimTraceReader"/>). Accesses are grouped back
/// into instructions: an instruction fetch starts a record with its address as ip; the loads that follow fill
/// source_memory (up to 4) and the stores destination_memory (up to 2); a modify fills one of each. A record is
/// closed, and the next access starts a new record with the same ip, when its slots are full or when a load
/// follows a store (the reader yields a record's loads before its stores, so order is kept). Data accesses
/// before any fetch get ip 0. Lost: sizes (read back as 1), process and thread ids, branch and register fields
/// (written as 0), and a modify reads back as a load and a store. Address 0 cannot be written (ChampSim reads a
/// zero operand as "no operand"): it is an error naming the access.
/// </summary>
public sealed class ChampSimTraceWriter : ITraceWriter
{
    private const int BlockRecords = 1 << 14;

    private readonly AtomicFileOutput _out;
    private readonly byte[] _block = new byte[BlockRecords * ChampSimTraceReader.RecordSize];
    private int _used;          // records complete in _block
    private bool _open;         // a record is being filled at _used
    private ulong _ip;
    private int _loads;
    private int _stores;
    private long _accesses;

    public ChampSimTraceWriter(string path) => _out = new AtomicFileOutput(path);

    public string DestinationName => _out.Path;

    public void Write(ReadOnlySpan<MemoryAccess> accesses)
    {
        foreach (ref readonly MemoryAccess a in accesses)
        {
            _accesses++;
            if (a.Kind == AccessKind.Instr)
            {
                Close();
                _ip = a.Address;
                Open();
                continue;
            }
            if (a.Address == 0)
                throw new InputException(DestinationName, _accesses, "0x0",
                    "a ChampSim trace cannot hold an access to address 0 (a zero operand means 'none')");
            bool load = a.Kind is AccessKind.Load or AccessKind.Modify;
            bool store = a.Kind is AccessKind.Store or AccessKind.Modify;
            if (!_open || (load && (_loads == 4 || _stores > 0)) || (store && _stores == 2))
            {
                Close();
                Open();
            }
            Span<byte> r = Current();
            if (load) BinaryPrimitives.WriteUInt64LittleEndian(r[(32 + 8 * _loads++)..], a.Address);
            if (store) BinaryPrimitives.WriteUInt64LittleEndian(r[(16 + 8 * _stores++)..], a.Address);
        }
    }

    private Span<byte> Current() => _block.AsSpan(_used * ChampSimTraceReader.RecordSize, ChampSimTraceReader.RecordSize);

    private void Open()
    {
        Span<byte> r = Current();
        r.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(r, _ip);
        _open = true;
        _loads = _stores = 0;
    }

    private void Close()
    {
        if (!_open) return;
        _open = false;
        if (++_used == BlockRecords)
        {
            _out.Stream.Write(_block, 0, _used * ChampSimTraceReader.RecordSize);
            _used = 0;
        }
    }

    public void Complete()
    {
        Close();
        _out.Stream.Write(_block, 0, _used * ChampSimTraceReader.RecordSize);
        _used = 0;
        _out.Commit();
    }

    public void Dispose() => _out.Dispose();
}
