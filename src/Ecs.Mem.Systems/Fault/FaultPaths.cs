using EcsMem.Components;
using EcsMem.Simulation;

namespace EcsMem.Systems.Fault;

/// <summary>
/// What each fault class does once the allocator has granted it a frame — the rest of its path after
/// __alloc_pages returns — so that a fault class is defined in this folder alone: classification
/// (<see cref="FaultHandlingSystem"/>), this step, and the install (<see cref="FaultInstallSystem"/>).
/// </summary>
public static class FaultPaths
{
    /// <summary>
    /// anon_vma_prepare in do_anonymous_page (a written page) and in the copy of do_wp_page / do_cow_fault; a shared
    /// anonymous area is shmem and gets none.
    /// </summary>
    private static void AnonVmaPrepare(Kernel.Kernel kernel, in FaultRecord rec)
    {
        MmState? mm = kernel.Tasks.MmById(rec.MmId);
        int vi = mm?.Mm.Vmas.FindVma(rec.Va) ?? -1;
        if (mm is null || vi < 0 || mm.Mm.Vmas[vi].Start > rec.Va || (mm.Mm.Vmas[vi].Flags & VmFlags.Shared) != 0)
            return;
        bool had = mm.Mm.Vmas[vi].AnonVma != 0;
        mm.Mm.AnonVmaPrepare(vi);
        if (!had)
            kernel.Memcg?.SyncMmObjects(rec.MmId, mm.Mm, kernel.Tlb.CurrentCpu); // anon_vma_alloc, anon_vma_chain_alloc
    }

    /// <summary>
    /// <paramref name="rec"/>'s frame (<see cref="FaultRecord.Pfn"/>, pinned) is granted. A new anonymous page
    /// (do_anonymous_page) or a COW copy (wp_page_copy, do_cow_fault) becomes an anonymous LRU page and goes to
    /// the install; a file or swap read (filemap_fault, swapin) goes to the page cache or swap cache and the disk.
    /// </summary>
    public static void FrameGranted(Kernel.Kernel kernel, SimEnvironment env, ref FaultRecord rec)
    {
        int pfn = rec.Pfn;
        ref Frame f = ref kernel.Zone.Frames[pfn];
        switch (rec.Class)
        {
            case FaultClass.AnonNew:
            case FaultClass.CowCopy:
                AnonVmaPrepare(kernel, rec);
                f.Flags |= FrameFlags.Anon | FrameFlags.SwapBacked;
                f.Mapping = rec.MmId;
                f.Index = (long)(rec.Va >> Pte.PageShift);
                // A new anonymous page starts zero-filled (fresh content); a COW copy carries its source's content.
                f.ContentToken = rec.Class == FaultClass.AnonNew || rec.SourcePfn == kernel.Zone.ZeroPfn
                    ? kernel.Zone.NextContentToken()
                    : kernel.Zone.Frames[rec.SourcePfn].ContentToken;
                kernel.Zone.LruAdd(pfn, Zone.AnonKey(rec.MmId, rec.Va));
                env.Work<PteInstall>().Add(new PteInstall(rec));
                break;
            case FaultClass.AnonLarge:
                {
                    // do_anonymous_page with an mTHP: one anonymous folio of 1 << Order pages at the aligned address,
                    // zero-filled, each page on the LRU (ranked on its own, as a THP's), all pinned until mapped.
                    AnonVmaPrepare(kernel, rec);
                    ulong addr = rec.Va & ~((Pte.PageSize << rec.Order) - 1);
                    for (int i = 0; i < 1 << rec.Order; i++)
                    {
                        ulong va = addr + ((ulong)i << Pte.PageShift);
                        ref Frame sub = ref kernel.Zone.Frames[pfn + i];
                        sub.Flags |= FrameFlags.Anon | FrameFlags.SwapBacked;
                        sub.Mapping = rec.MmId;
                        sub.Index = (long)(va >> Pte.PageShift);
                        sub.ContentToken = kernel.Zone.NextContentToken();
                        kernel.Zone.LruAdd(pfn + i, Zone.AnonKey(rec.MmId, va));
                    }
                    env.Work<PteInstall>().Add(new PteInstall(rec));
                    break;
                }
            case FaultClass.FileRead when kernel.OpenFiles.IsShmem(rec.File):
                kernel.OpenFiles.ShmemFault(env, ref rec);
                break;
            case FaultClass.HugeAnon:
                {
                    // do_huge_pmd_anonymous_page: the 512 pages become one anonymous folio on the LRU (each page ranked
                    // on its own: the policies know order-0 pages only), zero-filled, pinned until the PMD is set.
                    ulong haddr = rec.Va & HugeMemory.HugeMemory.PmdMask;
                    for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
                    {
                        int p = pfn + i;
                        ulong va = haddr + ((ulong)i << Pte.PageShift);
                        ref Frame sub = ref kernel.Zone.Frames[p];
                        sub.Flags |= FrameFlags.Anon | FrameFlags.SwapBacked | FrameFlags.Thp;
                        sub.Mapping = rec.MmId;
                        sub.Index = (long)(va >> Pte.PageShift);
                        sub.ContentToken = kernel.Zone.NextContentToken();
                        if (i > 0)
                            kernel.Zone.PinFrame(p);
                        kernel.Zone.LruAdd(p, Zone.AnonKey(rec.MmId, va));
                    }
                    env.Work<PteInstall>().Add(new PteInstall(rec));
                    break;
                }
            case FaultClass.FileRead:
                env.Work<PageCacheInsertRequest>().Add(new PageCacheInsertRequest(rec));
                break;
            case FaultClass.SwapRead:
                // swapin_readahead: the window's other swapped-out pages go into the swap cache in the same
                // request; the faulting page itself is inserted and read by the page-cache insert system.
                kernel.SwapReadahead.ClearReadahead(pfn);
                rec.SwapinDrained = kernel.SwapReadahead.Readahead(env, rec);
                env.Work<PageCacheInsertRequest>().Add(new PageCacheInsertRequest(rec));
                break;
            default:
                throw new InvalidOperationException($"fault class {rec.Class} does not allocate");
        }
    }
}
