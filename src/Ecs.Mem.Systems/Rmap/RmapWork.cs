namespace EcsMem.Systems.Rmap;

/// <summary>
/// ⑦ Rewrite one PTE that maps an evicted frame: to a swap entry (anonymous) or to none (file), on the
/// reclaimer's CPU (<c>Cpu</c>: the stalled task's in direct reclaim, CPU 0 for kswapd), which flushes its own
/// TLB and shoots down the other CPUs that have the mm loaded.
/// </summary>
public readonly record struct PteRewrite(int MmId, ulong Va, int Pfn, ulong NewPte, int Cpu = 0);

/// <summary>⑦ After its PTEs are rewritten, an evicted frame leaves its cache and returns to the buddy allocator.</summary>
public readonly record struct FrameRelease(int Pfn);
