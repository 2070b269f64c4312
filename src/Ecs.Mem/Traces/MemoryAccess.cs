using System.Runtime.InteropServices;

namespace EcsMem.Traces;

/// <summary>
/// One access of a trace: a virtual address touched by a thread of a simulated process.
/// 16 bytes, so a batch of 4096 accesses fits in 64 KiB and streams through the cache well:
/// <see cref="Address"/> 8, <see cref="Process"/> 4, <see cref="Size"/> 2, <see cref="Kind"/> 1, <see cref="Thread"/> 1
/// (the thread id lives in what was the struct's padding byte, so it costs no space).
/// </summary>
/// <param name="Address">Virtual address.</param>
/// <param name="Process">Process id (never negative).</param>
/// <param name="Size">Bytes accessed.</param>
/// <param name="Kind">Instruction fetch, load, store or modify.</param>
/// <param name="Thread">Thread id within the process: 0 = the main thread (the thread-group leader), 1..255 = its
/// other threads (a scenario's <c>threads:</c> entries in order). Formats without threads read as 0.</param>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public readonly record struct MemoryAccess(ulong Address, int Process, ushort Size, AccessKind Kind, byte Thread = 0)
{
    /// <summary>Largest thread id an access can carry (<see cref="Thread"/> is a byte).</summary>
    public const int MaxThread = byte.MaxValue;

    /// <summary>True for loads and modifies (a modify reads before it writes).</summary>
    public bool Reads => Kind is AccessKind.Load or AccessKind.Modify or AccessKind.Instr;

    /// <summary>True for stores and modifies.</summary>
    public bool Writes => Kind is AccessKind.Store or AccessKind.Modify;
}
