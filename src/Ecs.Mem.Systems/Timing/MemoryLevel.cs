namespace EcsMem.Systems.Timing;

/// <summary>The level of the memory hierarchy that served an access.</summary>
public enum MemoryLevel : byte
{
    L1 = 0,
    L2 = 1,
    L3 = 2,
    Dram = 3,
}
