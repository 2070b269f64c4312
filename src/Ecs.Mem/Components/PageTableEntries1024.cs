using System.Runtime.CompilerServices;

namespace EcsMem.Components;

/// <summary>
/// The entries of one 2-level (x86-32 without PAE) page-table page stored inline: 1024 entries, as the hardware
/// table has, but each kept 64 bits wide like <see cref="PageTableEntries"/>, because the simulator's PTEs carry
/// software bits and swap entries above bit 31 (so 8 KiB of host memory for the 4 KiB the hardware uses).
/// </summary>
[InlineArray(1024)]
public struct PageTableEntries1024
{
    private ulong _element0;
}
