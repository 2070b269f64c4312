namespace EcsMem.Systems.AddressSpace;

/// <summary>vm.overcommit_memory: OVERCOMMIT_GUESS (0), OVERCOMMIT_ALWAYS (1), OVERCOMMIT_NEVER (2).</summary>
public enum OvercommitPolicy : byte
{
    Guess = 0,
    Always = 1,
    Never = 2,
}

/// <summary>
/// The machine-wide commit accounting of mm/util.c: vm_committed_as (Committed_AS in /proc/meminfo) and
/// __vm_enough_memory's decision for each VM_ACCOUNT charge under vm.overcommit_memory, overcommit_ratio or
/// overcommit_kbytes, with CommitLimit from vm_commit_limit. Under OVERCOMMIT_NEVER a caller without CAP_SYS_ADMIN
/// leaves admin_reserve_kbytes alone and every caller leaves min(total_vm / 32, user_reserve_kbytes) of its own.
/// Simplified: vm_committed_as is an exact counter (Linux's per-CPU counter may lag by its batch), and hugetlb
/// pages are not modelled (vm_commit_limit subtracts them from RAM).
/// </summary>
public sealed class Overcommit(ulong totalRamPages, ulong totalSwapPages, ulong freeKbytesAtBoot)
{
    /// <summary>vm.overcommit_memory.</summary>
    public OvercommitPolicy Policy { get; set; } = OvercommitPolicy.Guess;

    /// <summary>vm.overcommit_ratio (percent of RAM in CommitLimit); default 50.</summary>
    public ulong Ratio { get; set; } = 50;

    /// <summary>vm.overcommit_kbytes; when non-zero it replaces the ratio.</summary>
    public ulong Kbytes { get; set; }

    /// <summary>vm.user_reserve_kbytes: init_user_reserve sets min(free KiB / 32, 128 MiB) at boot.</summary>
    public ulong UserReserveKbytes { get; set; } = Math.Min(freeKbytesAtBoot / 32, 128UL * 1024);

    /// <summary>vm.admin_reserve_kbytes: init_admin_reserve sets min(free KiB / 32, 8 MiB) at boot.</summary>
    public ulong AdminReserveKbytes { get; set; } = Math.Min(freeKbytesAtBoot / 32, 8UL * 1024);

    /// <summary>vm_committed_as in pages.</summary>
    public long Committed { get; private set; }

    /// <summary>totalram_pages (MemTotal).</summary>
    public ulong TotalRamPages => totalRamPages;

    /// <summary>Pages of swap (total_swap_pages).</summary>
    public ulong TotalSwapPages { get; set; } = totalSwapPages;

    /// <summary>vm_commit_limit: overcommit_kbytes, or RAM × overcommit_ratio / 100, plus swap; in pages.</summary>
    public ulong CommitLimit => (Kbytes != 0 ? Kbytes >> 2 : totalRamPages * Ratio / 100) + TotalSwapPages;

    /// <summary>
    /// __vm_enough_memory: charges <paramref name="pages"/> (vm_acct_memory first, as Linux does) and says whether
    /// the policy allows it (false = -ENOMEM, the charge taken back). ALWAYS always allows; GUESS refuses only a
    /// single request larger than RAM plus swap; NEVER allows while Committed_AS stays below CommitLimit, less the
    /// admin reserve for a caller without CAP_SYS_ADMIN and less min(total_vm / 32, user reserve) of the caller's mm.
    /// </summary>
    public bool VmEnoughMemory(ulong pages, Mm? mm, bool capSysAdmin = true)
    {
        Committed += (long)pages;
        if (Policy == OvercommitPolicy.Always)
        {
            return true;
        }

        if (Policy == OvercommitPolicy.Guess)
        {
            if (pages <= totalRamPages + TotalSwapPages)
            {
                return true;
            }
        }
        else
        {
            long allowed = (long)CommitLimit;
            if (!capSysAdmin)
            {
                allowed -= (long)(AdminReserveKbytes >> 2);
            }

            if (mm is not null)
            {
                allowed -= (long)Math.Min(mm.Struct.TotalVm / 32, UserReserveKbytes >> 2);
            }

            if (Committed < allowed)
            {
                return true;
            }
        }

        Committed -= (long)pages;
        return false;
    }

    private readonly Dictionary<int, (ulong Pages, int Vmas)> _shmem = new();
    private int _lastShmemId;

    /// <summary>
    /// shmem_zero_setup's object for a new MAP_SHARED|MAP_ANONYMOUS area of <paramref name="pages"/>: its id for
    /// <see cref="Components.Vma.ShmemId"/>. <paramref name="charged"/> says whether shmem_acct_size charged its size
    /// (not with VM_NORESERVE), given back by <see cref="ShmemRef"/> when its last VMA goes (shmem_unacct_size on evict).
    /// </summary>
    public int NewShmem(ulong pages, bool charged)
    {
        _shmem[++_lastShmemId] = (charged ? pages : 0, 0);
        return _lastShmemId;
    }

    /// <summary>A VMA of shmem object <paramref name="id"/> was linked (+1) or removed (-1).</summary>
    public void ShmemRef(int id, int delta)
    {
        if (!_shmem.TryGetValue(id, out var o))
        {
            return;
        }

        o.Vmas += delta;
        if (o.Vmas > 0)
        {
            _shmem[id] = o;
            return;
        }

        _shmem.Remove(id);
        Unacct(o.Pages);
        ObjectReleased?.Invoke(id);
    }

    /// <summary>Told the id of an object whose last VMA went (a hugetlb file is released then: Hugetlb.FileReleased).</summary>
    public Action<int>? ObjectReleased { get; set; }

    /// <summary>vm_acct_memory without a check.</summary>
    public void Acct(ulong pages) => Committed += (long)pages;

    /// <summary>vm_unacct_memory.</summary>
    public void Unacct(ulong pages) => Committed -= (long)pages;
}
