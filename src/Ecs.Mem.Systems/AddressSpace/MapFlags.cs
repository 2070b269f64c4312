namespace EcsMem.Systems.AddressSpace;

/// <summary>mmap flags (MAP_* with the x86 Linux uapi values).</summary>
[Flags]
public enum MapFlags : uint
{
    None = 0,
    Shared = 0x01,
    Private = 0x02,
    Fixed = 0x10,
    Anonymous = 0x20,
    GrowsDown = 0x0100,
    Locked = 0x2000,
    NoReserve = 0x4000,
    Populate = 0x8000,
    Stack = 0x20000,
    HugeTlb = 0x40000,
    FixedNoReplace = 0x100000,
}
