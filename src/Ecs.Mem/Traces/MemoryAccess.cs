using System.Runtime.InteropServices;

namespace EcsMem.Traces;

/// <summary>
/// One access of a trace: a virtual address touched by a simulated process.
/// 16 bytes, so a batch of 4096 accesses fits in 64 KiB and streams through the cache well.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public readonly record struct MemoryAccess(ulong Address, int Process, ushort Size, AccessKind Kind)
{
    /// <summary>True for loads and modifies (a modify reads before it writes).</summary>
    public bool Reads => Kind is AccessKind.Load or AccessKind.Modify or AccessKind.Instr;

    /// <summary>True for stores and modifies.</summary>
    public bool Writes => Kind is AccessKind.Store or AccessKind.Modify;
}
