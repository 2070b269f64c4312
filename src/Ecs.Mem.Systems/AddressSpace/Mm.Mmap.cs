using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

public sealed partial class Mm
{
    /// <summary>
    /// do_mmap + mmap_region: maps [addr, addr+len) (or a free range it picks) and returns the start
    /// address, or a negated errno. MAP_FIXED replaces what was mapped there (reported as Unmapped first);
    /// MAP_FIXED_NOREPLACE fails with EEXIST instead. Without MAP_FIXED the hint is used when free,
    /// else the range is placed top-down below mmap_base. The new area merges with compatible neighbours.
    /// pgoff is the file offset in pages (ignored for anonymous mappings); fileId is an id in
    /// <see cref="Files"/>, -1 with <see cref="MapFlags.Anonymous"/> (a special mapping passes its name id
    /// with kind = <see cref="VmaKind.Special"/>). kind overrides the backing kind (heap, stack, special).
    /// </summary>
    public long DoMmap(ulong addr, ulong len, Prot prot, MapFlags flags, int fileId, ulong pgoff, List<VmaChange>? changes = null, VmaKind? kind = null, int openFile = 0)
    {
        if (len == 0)
        {
            return -Errno.EINVAL;
        }

        MapFlags type = flags & (MapFlags.Shared | MapFlags.Private);
        if (type != MapFlags.Shared && type != MapFlags.Private)
        {
            return -Errno.EINVAL;
        }

        bool anonymous = (flags & MapFlags.Anonymous) != 0;
        if (anonymous ? fileId >= 0 && kind is null : fileId < 0 || fileId >= Files.Count)
        {
            return -Errno.EBADF;
        }

        ulong taskSize = Struct.TaskSize;
        bool hugetlb = (flags & MapFlags.HugeTlb) != 0;
        if (hugetlb)
        {
            // ksys_mmap_pgoff: MAP_HUGETLB (anonymous only) rounds the length up to the huge page size.
            if (!anonymous)
            {
                return -Errno.EINVAL;
            }

            len = (len + EcsMem.Systems.Hugetlb.Hugetlb.Size - 1) & EcsMem.Systems.Hugetlb.Hugetlb.Mask;
        }

        len = PageAlign(len);
        if (len == 0 || len > taskSize)
        {
            return -Errno.ENOMEM;
        }

        if (!anonymous && pgoff + (len >> Pte.PageShift) < pgoff)
        {
            return -Errno.EINVAL;
        }

        if (Struct.MapCount >= MaxMapCount)
        {
            return -Errno.ENOMEM;
        }

        bool fixedNoReplace = (flags & MapFlags.FixedNoReplace) != 0;
        if ((flags & MapFlags.Fixed) != 0 || fixedNoReplace)
        {
            if (OffsetInPage(addr) || (hugetlb && (addr & ~EcsMem.Systems.Hugetlb.Hugetlb.Mask) != 0))
            {
                // prepare_hugepage_range: a fixed hugetlb address must be huge-page aligned.
                return -Errno.EINVAL;
            }

            if (addr > taskSize - len)
            {
                return -Errno.ENOMEM;
            }

            if (addr < MmapMinAddr)
            {
                return -Errno.EPERM;
            }

            if (fixedNoReplace && Vmas.FindVmaIntersection(addr, addr + len) >= 0)
            {
                return -Errno.EEXIST;
            }
        }
        else if (hugetlb)
        {
            // hugetlb_get_unmapped_area: an aligned hint if free, else a gap searched with the huge page alignment
            // (a gap of len + 2 MiB - 4 KiB holds an aligned range; top-down takes its highest aligned start).
            ulong slack = EcsMem.Systems.Hugetlb.Hugetlb.Size - Pte.PageSize;
            ulong hint = (addr + slack) & EcsMem.Systems.Hugetlb.Hugetlb.Mask;
            long placed = hint != 0 && hint <= taskSize - len && RangeIsFree(hint, len) ? (long)hint : GetUnmappedArea(0, len + slack);
            if (placed < 0)
            {
                return placed;
            }

            addr = (ulong)placed == hint ? hint : ((ulong)placed + slack) & EcsMem.Systems.Hugetlb.Hugetlb.Mask;
        }
        else
        {
            long placed = GetUnmappedArea(addr, len);
            if (placed < 0)
            {
                return placed;
            }

            addr = (ulong)placed;
        }

        VmFlags vmFlags = CalcVmProtBits(prot) | DefFlags | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec;
        if (type == MapFlags.Shared)
        {
            vmFlags |= VmFlags.Shared | VmFlags.MayShare;
        }

        if ((flags & MapFlags.GrowsDown) != 0)
        {
            vmFlags |= VmFlags.GrowsDown;
        }

        if ((flags & MapFlags.Locked) != 0)
        {
            vmFlags |= VmFlags.Locked;
        }

        // MAP_NORESERVE is honoured only while overcommit is allowed: under OVERCOMMIT_NEVER it is ignored, except
        // for a hugetlb mapping, where it always means no reservation from the pool (do_mmap).
        if ((flags & MapFlags.NoReserve) != 0 && (Commit?.Policy != OvercommitPolicy.Never || hugetlb))
        {
            vmFlags |= VmFlags.NoReserve;
        }

        if (hugetlb)
        {
            return MmapHugetlb(addr, len, vmFlags | VmFlags.HugeTlb, changes);
        }

        // accountable_mapping: private writable memory is charged to overcommit.
        if ((vmFlags & (VmFlags.Write | VmFlags.Shared | VmFlags.NoReserve | VmFlags.HugeTlb)) == VmFlags.Write)
        {
            vmFlags |= VmFlags.Account;
        }

        VmaKind vmaKind = kind ?? (anonymous ? VmaKind.Anonymous : VmaKind.File);
        return MmapRegion(addr, len, vmFlags, vmaKind, anonymous && vmaKind != VmaKind.Special ? -1 : fileId, vmaKind == VmaKind.Special ? 0 : anonymous ? addr >> Pte.PageShift : pgoff, changes,
            openFile: anonymous ? 0 : openFile);
    }

    /// <summary>
    /// Where the file-table inode numbers of shmem_zero_setup's objects start (object id added): keeps each object's
    /// file id its own and apart from memfds', whose inodes are small. Not shown: maps prints inode 0 for them.
    /// </summary>
    public const ulong ShmemInodeBase = 1UL << 40;

    /// <summary>
    /// mmap_region: charge a VM_ACCOUNT area to overcommit (less what the areas it replaces already hold:
    /// vms->nr_accounted moves over instead of being given back), unmap whatever overlaps, then insert the new area
    /// and merge it with its neighbours (not for a new brk area: <paramref name="merge"/> false). A shared anonymous
    /// area is shmem: shmem_zero_setup's object charges its whole size unless VM_NORESERVE (shmem_acct_size).
    /// Returns the address or a negated errno (-ENOMEM when the charge is refused, nothing changed).
    /// </summary>
    public long MmapRegion(ulong addr, ulong len, VmFlags vmFlags, VmaKind kind, int fileId, ulong pgoff, List<VmaChange>? changes, bool merge = true, int openFile = 0, int hugetlbFile = 0)
    {
        ulong end = addr + len;
        bool overlaps = Vmas.FindVmaIntersection(addr, end) >= 0;
        ulong replaced = overlaps ? AccountedPagesIn(addr, end) : 0;
        bool account = (vmFlags & VmFlags.Account) != 0;
        if (account && !VmEnoughMemory((len >> Pte.PageShift) - replaced))
        {
            return -Errno.ENOMEM;
        }

        bool shmem = kind == VmaKind.Anonymous && fileId < 0 && (vmFlags & (VmFlags.Shared | VmFlags.HugeTlb)) == VmFlags.Shared;
        bool shmemCharged = shmem && (vmFlags & VmFlags.NoReserve) == 0 && Commit is not null;
        if (shmemCharged && !VmEnoughMemory(len >> Pte.PageShift))
        {
            if (account)
            {
                Uncharge((len >> Pte.PageShift) - replaced);
            }

            return -Errno.ENOMEM;
        }

        if (overlaps)
        {
            long r = DoMunmap(addr, len, changes, uncharge: !account);
            if (r < 0)
            {
                if (account)
                {
                    Uncharge((len >> Pte.PageShift) - replaced);
                }

                return r;
            }

            // Without VM_ACCOUNT on the new area, the replaced areas' charge was given back by the unmap.
        }

        int shmemId = shmem && Commit is not null ? Commit.NewShmem(len >> Pte.PageShift, shmemCharged) : 0;
        if (shmemId != 0)
        {
            // shmem_zero_setup: the area maps a new unlinked "dev/zero" file on the internal shm mount (device 00:01)
            // whose page cache holds its pages, so every mapping of it (fork's copies included) finds them there;
            // do_mmap ignores the offset of a MAP_SHARED anonymous mapping (pgoff 0).
            fileId = Files.Intern(new MappedFile(ProcMaps.SharedAnonName, 0, 1, ShmemInodeBase + (ulong)shmemId));
            pgoff = 0;
        }

        var vma = new Vma
        {
            Start = addr,
            End = end,
            Flags = vmFlags,
            PageProt = Pte.ProtFromVmFlags(vmFlags, Mode),
            PgOff = pgoff,
            FileId = fileId,
            OpenFile = openFile,
            MmId = Struct.Id,
            Kind = kind,
            ShmemId = hugetlbFile != 0 ? hugetlbFile : shmemId,
        };
        int idx = Vmas.Insert(vma);
        Struct.MapCount++;
        VmStatAccount(vmFlags, PagesOf(addr, end));
        if (merge)
        {
            MergeAround(idx);
        }
        else
        {
            SyncSeq();
        }

        changes?.Add(new VmaChange(VmaChangeKind.Mapped, addr, end, VmFlags.None, vmFlags));
        return (long)addr;
    }

    /// <summary>
    /// hugetlbfs_file_mmap for MAP_HUGETLB's unlinked "anon_hugepage" file: hugetlb_reserve_pages takes one reservation
    /// per huge page from the pool unless VM_NORESERVE (-ENOMEM when the pool cannot cover them, nothing mapped), then
    /// the area is mapped at file offset 0 as the file's object (never charged to overcommit).
    /// </summary>
    private long MmapHugetlb(ulong addr, ulong len, VmFlags vmFlags, List<VmaChange>? changes)
    {
        if (Hugetlb is null)
        {
            return -Errno.ENOMEM;
        }

        long pages = (long)(len / EcsMem.Systems.Hugetlb.Hugetlb.Size);
        bool reserve = (vmFlags & VmFlags.NoReserve) == 0;
        if (reserve && !Hugetlb.Reserve(pages))
        {
            return -Errno.ENOMEM;
        }

        int id = Commit?.NewShmem(0, charged: false) ?? 0;
        Hugetlb.FileCreated(id, (vmFlags & VmFlags.Shared) != 0, pages, reserve, Struct.Id);
        // hugetlbfs_file_mmap sets VM_DONTEXPAND with VM_HUGETLB (smaps' VmFlags show "de ht"): such an area never
        // merges and mremap never grows it.
        long r = MmapRegion(addr, len, vmFlags | VmFlags.DontExpand, VmaKind.Anonymous, -1, 0, changes, hugetlbFile: id);
        if (r < 0)
        {
            Hugetlb.FileReleased(id);
        }

        return r;
    }

    /// <summary>calc_vm_prot_bits: PROT_* to VM_READ/WRITE/EXEC.</summary>
    public static VmFlags CalcVmProtBits(Prot prot)
    {
        VmFlags f = VmFlags.None;
        if ((prot & Prot.Read) != 0)
        {
            f |= VmFlags.Read;
        }

        if ((prot & Prot.Write) != 0)
        {
            f |= VmFlags.Write;
        }

        if ((prot & Prot.Exec) != 0)
        {
            f |= VmFlags.Exec;
        }

        return f;
    }

    /// <summary>
    /// get_unmapped_area for a non-fixed mapping: a free, page-aligned hint is honoured; otherwise
    /// arch_get_unmapped_area_topdown searches the highest gap below mmap_base (keeping the stack guard
    /// gap below growsdown areas), falling back to a bottom-up search from TASK_SIZE/3 like Linux does
    /// when the top-down search fails. Linear in the number of VMAs (Linux keeps gap sizes in its tree).
    /// </summary>
    public long GetUnmappedArea(ulong hint, ulong len)
    {
        ulong taskSize = Struct.TaskSize;
        if (len > taskSize)
        {
            return -Errno.ENOMEM;
        }

        ulong low = Math.Max(Pte.PageSize, MmapMinAddr);
        if (hint != 0)
        {
            hint = PageAlign(hint);
            if (hint <= taskSize - len && hint >= low && RangeIsFree(hint, len))
            {
                return (long)hint;
            }
        }

        long found = UnmappedAreaTopDown(len, low, Struct.MmapBase);
        if (found >= 0)
        {
            return found;
        }

        return UnmappedAreaBottomUp(len, PageAlign(taskSize / 3), taskSize);
    }

    /// <summary>True when [addr, addr+len) overlaps no VMA and keeps the guard gap below a stack.</summary>
    private bool RangeIsFree(ulong addr, ulong len)
    {
        int next = Vmas.FindVmaPrev(addr, out int prev);
        if (prev >= 0 && Vmas[prev].End > addr)
        {
            return false;
        }

        return next < 0 || addr + len <= VmStartGap(Vmas[next]);
    }

    /// <summary>unmapped_area_topdown: highest gap in [low, high) that fits len; returns its top-aligned start.</summary>
    private long UnmappedAreaTopDown(ulong len, ulong low, ulong high)
    {
        if (high < low || high - low < len)
        {
            return -Errno.ENOMEM;
        }

        for (int i = Vmas.Count - 1; i >= -1; i--)
        {
            ulong gapStart = i >= 0 ? Vmas[i].End : 0;
            ulong gapEnd = i + 1 < Vmas.Count ? VmStartGap(Vmas[i + 1]) : Struct.TaskSize;
            if (gapStart >= high)
            {
                continue;
            }

            if (gapEnd <= low)
            {
                break;
            }

            gapEnd = Math.Min(gapEnd, high);
            gapStart = Math.Max(gapStart, low);
            if (gapEnd > gapStart && gapEnd - gapStart >= len)
            {
                return (long)((gapEnd - len) & Pte.PageMask);
            }
        }

        return -Errno.ENOMEM;
    }

    /// <summary>unmapped_area: lowest gap in [low, high) that fits len.</summary>
    private long UnmappedAreaBottomUp(ulong len, ulong low, ulong high)
    {
        if (high < low || high - low < len)
        {
            return -Errno.ENOMEM;
        }

        for (int i = -1; i < Vmas.Count; i++)
        {
            ulong gapStart = Math.Max(i >= 0 ? Vmas[i].End : 0, low);
            ulong gapEnd = Math.Min(i + 1 < Vmas.Count ? VmStartGap(Vmas[i + 1]) : Struct.TaskSize, high);
            if (gapStart >= high)
            {
                break;
            }

            if (gapEnd > gapStart && gapEnd - gapStart >= len)
            {
                return (long)gapStart;
            }
        }

        return -Errno.ENOMEM;
    }
}
