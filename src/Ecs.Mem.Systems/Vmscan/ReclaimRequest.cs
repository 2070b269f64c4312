using EcsMem.Ecs;

namespace EcsMem.Systems.Vmscan;

/// <summary>④ Reclaim work: free <see cref="Pages"/> pages, directly (an allocation is stalled) or as kswapd.</summary>
public readonly record struct ReclaimRequest(bool Direct, int Pages, Entity ForProcess);

/// <summary>② → ④ wakeup_kswapd: an allocation found free memory below the low watermark.</summary>
public readonly record struct KswapdWakeup;
