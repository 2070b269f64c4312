using EcsMem.Components;

namespace EcsMem.Systems.Filemap;

/// <summary>
/// filemap_alloc_folio with __GFP_NORETRY, shared by write_begin's large folios (<see cref="OpenFiles"/>) and
/// readahead's (<see cref="Readahead"/>): one buddy block of the order while the zone stays above its low watermark
/// and need not stall, charged to the memory cgroup as one folio, refused rather than reclaimed for.
/// </summary>
internal static class FilemapAlloc
{
    /// <summary>
    /// filemap_alloc_folio(gfp | __GFP_NORETRY, order) charged to <paramref name="memcg"/> (mem_cgroup_charge of
    /// folio_nr_pages): the head frame, or -1 with <paramref name="overLimit"/> the group over its limit when the charge
    /// failed. <paramref name="pinned"/> holds every page (a read in flight until it completes). A charge that went
    /// through resets <paramref name="chargedTask"/>'s reclaim retries (none for <see cref="Ecs.Entity.Null"/>).
    /// </summary>
    public static int FilemapAllocFolio(Kernel.Kernel k, int order, Memcontrol.MemCgroup? memcg, int cpu, bool pinned,
        Ecs.Entity chargedTask, out Memcontrol.MemCgroup? overLimit)
    {
        overLimit = null;
        var zone = k.Zone;
        int nr = 1 << order;
        var buddy = zone.Buddy;
        if (zone.Watermarks.BelowLow(buddy.NrFreePages, order) || !buddy.HasFreeBlock(order)
            || zone.MustStall(buddy.NrFreePages - nr + 1, needsFrame: true))
            return -1;
        if (memcg is not null)
        {
            overLimit = k.Memcg!.TryCharge(memcg, nr, cpu);
            if (overLimit is not null)
                return -1;
            if (chargedTask != Ecs.Entity.Null)
                k.Memcg.Charged(chargedTask);
        }
        // rmqueue: orders up to PAGE_ALLOC_COSTLY_ORDER from the CPU's per-CPU list of the order (last freed first).
        int head = zone.AllocPages(cpu, order);
        if (head < 0)
        {
            if (memcg is not null)
                k.Memcg!.Uncharge(memcg, nr);
            return -1;
        }
        buddy.SplitPage(head, order);
        zone.CheckAllocMark();
        for (int p = head; p < head + nr; p++)
        {
            k.Dirty?.Frame(p);
            zone.Frames[p] = Frame.Fresh(p) with { FolioOrder = (sbyte)order };
            if (pinned)
                zone.PinFrame(p);
        }
        if (memcg is not null)
            k.Memcg!.CommitFolio(head, nr, memcg);
        k.Env.Counters.Add(k.C.PgAllocNormal, nr);
        return head;
    }

    /// <summary>
    /// mem_cgroup_charge of the folio <paramref name="head"/> of <paramref name="order"/>, already allocated
    /// (machine.charge_after_alloc): null when it went through (the folio is the group's), else the group at its limit,
    /// the folio left uncharged. A charge that went through resets <paramref name="chargedTask"/>'s reclaim retries.
    /// </summary>
    public static Memcontrol.MemCgroup? ChargeFolio(Kernel.Kernel k, int head, int order, Memcontrol.MemCgroup memcg, int cpu, Ecs.Entity chargedTask)
    {
        int nr = 1 << order;
        if (k.Memcg!.TryCharge(memcg, nr, cpu) is { } over)
            return over;
        if (chargedTask != Ecs.Entity.Null)
            k.Memcg.Charged(chargedTask);
        k.Memcg.CommitFolio(head, nr, memcg);
        return null;
    }

    /// <summary>
    /// folio_put of a new folio that was never charged nor added anywhere (its charge failed): its pages go back as
    /// any freed folio's do, whole to the per-CPU list of its order where there is one.
    /// </summary>
    public static void FreeUnchargedFolio(Kernel.Kernel k, int head, int order, int cpu)
    {
        var zone = k.Zone;
        if (order > 0)
            zone.BeginFolioFree(head, order);
        for (int p = head; p < head + (1 << order); p++)
            zone.FreeFrame(p, cpu);
    }

    /// <summary>
    /// filemap_add_folio of the new folio <paramref name="head"/> of <paramref name="order"/> at page
    /// <paramref name="index"/> of <paramref name="file"/>: every page indexed (<paramref name="locked"/>: held for the
    /// read that fills it), a shadow the range held refaulting the folio as one (the last one found, as
    /// __filemap_add_folio keeps), and the folio one entry on the file LRU.
    /// </summary>
    public static void FilemapAddFolio(Kernel.Kernel k, int file, long index, int head, int order, bool locked)
    {
        int nr = 1 << order, shadow = -1;
        for (int i = 0; i < nr; i++)
        {
            ref Frame f = ref k.Zone.Frames[head + i];
            f.Mapping = file;
            f.Index = index + i;
            f.ContentToken = PageCacheInsertSystem.FileContent(file, index + i);
            if (locked)
                f.Flags |= FrameFlags.Locked;
            int s = k.PageCache.Add(file, index + i, head + i);
            if (s >= 0)
                shadow = s;
        }
        if (shadow >= 0)
            k.LruvecOf(head)?.WorkingsetRefault(head, shadow);
        k.Zone.LruAdd(head, PageAlloc.Zone.FileKey(file, index));
    }
}
