using EcsMem.Components;
using EcsMem.Simulation;

namespace EcsMem.Systems.Rmap;

/// <summary>
/// ⑦ The page-table rewrite after swap-out (mm/rmap.c try_to_unmap): rewrites the PTEs of the pages reclaim
/// evicted this tick — to swap entries for anonymous pages, to none for file pages — flushing their TLB
/// entries, then frees those frames. The fault-install system after it maps this tick's faults.
/// </summary>
public sealed class PageTableRewriteSystem(Kernel.Kernel kernel) : ISystem
{
    public string Name => "page-table-rewrite";

    /// <inheritdoc/>
    public void DeclareConsumes(WorkConsumers c) => c.Of<PteRewrite>().Of<FrameRelease>();

    /// <summary>Acts only on this tick's PteRewrite and FrameRelease work (nothing kept between ticks).</summary>
    public bool WorkOnly => true;

    public void Update(SimEnvironment env)
    {
        RunBatch(env);
    }

    // How much of this tick's PteRewrite and FrameRelease batches a reclaim's free batch (RunBatch) already handled, and
    // in which tick: the work batches are the tick's, so a cursor from an earlier tick counts as 0.
    private int _rewritesDone, _releasesDone;
    private long _cursorTick = -1;

    /// <summary>
    /// Handles the PTE rewrites and frame releases queued since the last call in this tick, rewrites first: called at
    /// the tick's end (<see cref="Update"/>) and, when reclaim frees per shrink_folio_list batch, at each batch's end
    /// (mem_cgroup_uncharge_folios, try_to_unmap_flush, free_unref_folios), so the frames are free (on the reclaimer's
    /// per-CPU list, last freed first) and uncharged before the next batch is reclaimed and before the charge that
    /// reclaimed them allocates again.
    /// </summary>
    public void RunBatch(SimEnvironment env)
    {
        if (_cursorTick != env.Ticks)
            (_rewritesDone, _releasesDone, _cursorTick) = (0, 0, env.Ticks);
        Span<PteRewrite> rewrites = env.WorkItems<PteRewrite>();
        for (int i = _rewritesDone; i < rewrites.Length; i++)
            TryToUnmapOne(rewrites[i]);
        _rewritesDone = rewrites.Length;
        Span<FrameRelease> releases = env.WorkItems<FrameRelease>();
        for (int i = _releasesDone; i < releases.Length; i++)
            ReleaseFrame(releases[i].Pfn);
        _releasesDone = releases.Length;
    }

    /// <summary>Frames reclaim queued this tick that are not released yet (free pages to come, charges still held).</summary>
    public int PendingReleases(SimEnvironment env) => env.WorkCount<FrameRelease>() - (_cursorTick == env.Ticks ? _releasesDone : 0);

    /// <summary>try_to_unmap_one: replaces one PTE of an evicted frame, if it still maps that frame.</summary>
    private void TryToUnmapOne(in PteRewrite r)
    {
        kernel.Smp.Enter(r.Cpu);
        MmState? mm = kernel.Tasks.MmById(r.MmId);
        if (mm is null)
            return;
        ref ulong slot = ref mm.Tables.Walk(r.Va, out _);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot))
            return;
        var old = new Pte(slot);
        if (!MemoryOps.IsMapped(old.Value) || (int)old.Pfn != r.Pfn)
            return;
        kernel.Dirty?.Pte(mm, r.Va, slot);
        kernel.Memory.UnmapPte(mm, r.Va, slot);
        kernel.Events?.Unmap(r.MmId, r.Va, r.Pfn, r.NewPte, r.Cpu);
        slot = r.NewPte;
        if (r.NewPte != 0)
        {
            kernel.Swap.SwapDuplicate((int)new Pte(r.NewPte).ToSwapEntry().Offset);
            mm.Mm.Struct.SwapEnts++;
        }
        kernel.Tlb.FlushTlbPage(mm.Tlb, r.Va);
    }

    /// <summary>Whether every page of the order-<paramref name="order"/> folio at <paramref name="head"/> is still in it and unmapped.</summary>
    private bool WholeFolioUnmapped(int head, int order)
    {
        Frame[] frames = kernel.Zone.Frames;
        for (int p = head; p < head + (1 << order); p++)
        {
            if (frames[p].FolioOrder != order || frames[p].MapCount > 0)
                return false;
        }
        return true;
    }

    /// <summary>The evicted frame leaves the swap cache or page cache and goes back to the buddy allocator.</summary>
    private void ReleaseFrame(int pfn)
    {
        kernel.Zone.UnpinFrame(pfn);
        ref Frame f = ref kernel.Zone.Frames[pfn];
        // The folio's one v1 PGPGOUT is its head's (uncharge_folio), taken before the page leaves the folio.
        bool pgpgout = kernel.Zone.FolioHead(pfn);
        // A large folio none of whose pages was mapped again goes whole (free_unref_folios): reclaim queued its pages
        // one after another, so they come next in this loop, and the zone hands the folio to its order's per-CPU list.
        if (f.FolioOrder != 0 && pgpgout && WholeFolioUnmapped(pfn, f.FolioOrder))
            kernel.Zone.BeginFolioFree(pfn, f.FolioOrder);
        // A large folio's pages are released together in this pass: each leaves the folio as it goes (a page mapped
        // again meanwhile stays resident as a single page).
        f.FolioOrder = 0;
        // The workingset shadow the lruvec took when it reclaimed the page (none with a simple policy).
        int shadow = kernel.LruvecOf(pfn)?.TakeShadow(pfn) ?? -1;
        if (f.MapCount > 0)
            return; // mapped again meanwhile: stays resident (and will be found by the policy's next insert)
        if ((f.Flags & FrameFlags.SwapCache) != 0)
        {
            int slot = (int)f.Index;
            kernel.SwapCache.Delete(slot, shadow);
            kernel.Swap.SetCached(slot, false);
        }
        else if (!f.IsAnon && f.Mapping >= 0)
        {
            kernel.PageCache.Delete(f.Mapping, f.Index, shadow);
        }
        kernel.Zone.FreeFrame(pfn, kernel.Tlb.CurrentCpu, pgpgout);
    }
}
