using EcsMem.Ecs;

namespace EcsMem.Systems.Vmscan;

/// <summary>
/// ④ Reclaim work: free <see cref="Pages"/> pages, directly (an allocation is stalled, on its task's <c>Cpu</c>)
/// or as kswapd (due at <c>NotBefore</c>, which its CPU catches up to). <c>MayOom</c> false is a __GFP_NORETRY
/// allocation's reclaim (readahead): when it frees nothing the allocation fails instead of invoking the OOM killer.
/// <c>Memcg</c> ≥ 0 is cgroup reclaim (try_to_free_mem_cgroup_pages) of that memory cgroup's subtree: a charge
/// found it at its memory.max (or memory.high); -1 is reclaim for the node. <c>Plugged</c>: the charge was a swap-in's,
/// made inside swap readahead's blk_start_plug (swap_cluster_readahead, swap_vma_readahead), so the reclaim's writes
/// join that plug; <c>PlugHeadRead</c>: the loop had put a read into it first, which then heads the plug and keeps them
/// there until the reclaim ends (blk_add_rq_to_plug's size test looks at the plug's first request; Writeback.HoldPlug).
/// </summary>
public readonly record struct ReclaimRequest(bool Direct, int Pages, Entity ForProcess, int Cpu = 0, ulong NotBefore = 0, bool MayOom = true, int Memcg = -1, bool Plugged = false, int ChargePages = 0, bool PlugHeadRead = false);

/// <summary>② → ④ wakeup_kswapd: an allocation found free memory below the low watermark.</summary>
public readonly record struct KswapdWakeup;
