namespace EcsMem.Systems.Caches;

/// <summary>One <c>/sys/devices/system/cpu/cpuN/cache/indexM/</c> entry (see Linux drivers/base/cacheinfo.c).</summary>
public sealed record SysfsCacheInfo(int Level, string Type, long SizeBytes, int Ways, int LineBytes, int Sets, string Directory)
{
    /// <summary>"Data", "Instruction" or "Unified", as the kernel spells it.</summary>
    public bool IsData => Type == "Data";
    public bool IsInstruction => Type == "Instruction";
    public bool IsUnified => Type == "Unified";
}
