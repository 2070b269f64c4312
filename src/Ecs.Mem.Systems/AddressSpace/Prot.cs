namespace EcsMem.Systems.AddressSpace;

/// <summary>mmap/mprotect protection bits (PROT_* from the Linux uapi headers).</summary>
[Flags]
public enum Prot : uint
{
    None = 0,
    Read = 0x1,
    Write = 0x2,
    Exec = 0x4,
}
