namespace EcsMem.Components;

/// <summary>
/// State and permission bits cached in a TLB entry. They mirror the x86 PTE bits a translation carries
/// (present, R/W, U/S, NX, G, D), so a hit can be checked without reading the page table again.
/// </summary>
[Flags]
public enum TlbFlags : byte
{
    None = 0,
    /// <summary>The slot holds a translation.</summary>
    Valid = 1 << 0,
    /// <summary>Global (PTE.G): matches every PCID and survives CR3 writes; only INVLPG or a full flush removes it.</summary>
    Global = 1 << 1,
    /// <summary>PTE.R/W: stores allowed.</summary>
    Writable = 1 << 2,
    /// <summary>PTE.U/S: user-mode accesses allowed.</summary>
    User = 1 << 3,
    /// <summary>PTE.NX: instruction fetches forbidden.</summary>
    NoExecute = 1 << 4,
    /// <summary>
    /// PTE.D was already set when the entry was filled, so a store can use it directly; a store through an
    /// entry without it makes the hardware walk again to set the dirty bit.
    /// </summary>
    DirtyAllowed = 1 << 5,
}
