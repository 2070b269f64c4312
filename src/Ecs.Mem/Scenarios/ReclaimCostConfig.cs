namespace EcsMem.Scenarios;

/// <summary>
/// <c>machine.reclaim_cost</c>: the CPU time, in nanoseconds, of each step of reclaim (mm/vmscan.c), which the reclaiming
/// CPU spends (direct reclaim stalls the faulting task, kswapd its own CPU) and during which writes complete. Applies
/// with <c>writeback: async</c> (synchronous writeback charges reclaim no time of its own). The defaults were measured
/// on this project's VM (Linux 6.18, AMD EPYC, 2 vCPUs) with tracepoint timestamps, off-CPU time taken out
/// (oracle/experiments/reclaim-cost): medians, less what the per-page tracepoints themselves cost (a run with only the
/// per-batch tracepoints); the means carry a tail of slow batches (a shared host) and are in the experiment's README.
/// </summary>
/// <param name="CallNs">A reclaim call (try_to_free_mem_cgroup_pages, do_try_to_free_pages, a kswapd round): its set-up,
/// the memcg walk, get_scan_count and lru_add_drain up to the first isolation (measured 3.0–3.3 µs median).</param>
/// <param name="BatchNs">A shrink_inactive_list call: the list lock, the putback and the statistics (least-squares
/// intercepts 1.7–2.7 µs on the anonymous lists).</param>
/// <param name="IsolateNs">A page isolate_lru_folios is asked for (fits 0.13–0.20 µs on the anonymous lists).</param>
/// <param name="ActiveNs">A folio shrink_active_list takes (folio_referenced, the move; 0.23 µs median, 0.28 mean).</param>
/// <param name="KeepNs">A folio shrink_folio_list keeps, activates or puts back (folio_check_references: the rmap walk;
/// fits 0.36 µs).</param>
/// <param name="FreeNs">A clean folio it frees (__remove_mapping, the swap-cache or page-cache delete, the batched free;
/// 0.43 µs median per page of batches that freed all they took).</param>
/// <param name="WriteNs">An anonymous folio it writes to swap (the references, folio_alloc_swap and the swap-cache add,
/// try_to_unmap with its TLB flush, pageout → swap_writeout and the bio): 2.83 µs median per page of batches that wrote
/// all they took (3.38 between write_folio events with the per-page tracepoints on, of which 1.4 up to the TLB flush).</param>
/// <param name="ShmemWriteNs">A shmem folio it writes (shmem_writeout moves it from the page cache to the swap cache
/// first): 3.10 µs median (3.59 with the per-page tracepoints).</param>
public sealed record ReclaimCostConfig(
    long CallNs = 3_000,
    long BatchNs = 2_000,
    long IsolateNs = 150,
    long ActiveNs = 250,
    long KeepNs = 360,
    long FreeNs = 400,
    long WriteNs = 2_750,
    long ShmemWriteNs = 3_000)
{
    /// <summary>The scenario keys, in the order of the record's parameters.</summary>
    public static readonly string[] Keys = ["call_ns", "batch_ns", "isolate_ns", "active_ns", "keep_ns", "free_ns", "write_ns", "shmem_write_ns"];

    /// <summary>The costs in the order of <see cref="Keys"/>.</summary>
    public long[] Values => [CallNs, BatchNs, IsolateNs, ActiveNs, KeepNs, FreeNs, WriteNs, ShmemWriteNs];

    /// <summary>The costs of <paramref name="v"/>, in the order of <see cref="Keys"/>.</summary>
    public static ReclaimCostConfig FromValues(long[] v) => new(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
}
