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
/// overcommit_kbytes, with CommitLimit from vm_commit_limit. The caller is root (CAP_SYS_ADMIN), so the admin
/// reserve is not held back, as in Linux; the user reserve is min(total_vm/32, user_reserve_kbytes).
/// </summary>
public sealed class Overcommit(ulong totalRamPages, ulong totalSwapPages)
{
    /// <summary>vm.overcommit_memory.</summary>
    public OvercommitPolicy Policy { get; set; } = OvercommitPolicy.Guess;

    /// <summary>vm.overcommit_ratio (percent of RAM in CommitLimit); default 50.</summary>
    public ulong Ratio { get; set; } = 50;

    /// <summary>vm.overcommit_kbytes; when non-zero it replaces the ratio.</summary>
    public ulong Kbytes { get; set; }

    /// <summary>
    /// vm.user_reserve_kbytes: Linux sets min(3% of free memory, 128 MiB) at boot; here min(RAM/32, 128 MiB) in KiB
    /// (the machine is empty at boot).
    /// </summary>
    public ulong UserReserveKbytes { get; set; } = Math.Min((totalRamPages * 4) / 32, 128UL * 1024);

    /// <summary>vm_committed_as in pages.</summary>
    public long Committed { get; private set; }

    /// <summary>Pages of swap (total_swap_pages).</summary>
    public ulong TotalSwapPages { get; set; } = totalSwapPages;

    /// <summary>vm_commit_limit: overcommit_kbytes, or RAM × overcommit_ratio / 100, plus swap; in pages.</summary>
    public ulong CommitLimit => (Kbytes != 0 ? Kbytes >> 2 : totalRamPages * Ratio / 100) + TotalSwapPages;

    /// <summary>
    /// __vm_enough_memory: charges <paramref name="pages"/> and says whether the policy allows it (false = -ENOMEM,
    /// the charge taken back). ALWAYS always allows; GUESS refuses only a single request larger than RAM plus swap;
    /// NEVER allows while Committed_AS stays below CommitLimit less the user reserve.
    /// </summary>
    public bool VmEnoughMemory(ulong pages, Mm? mm)
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

    /// <summary>vm_acct_memory without a check (fork's copies under GUESS/ALWAYS go through <see cref="VmEnoughMemory"/> too).</summary>
    public void Acct(ulong pages) => Committed += (long)pages;

    /// <summary>vm_unacct_memory.</summary>
    public void Unacct(ulong pages) => Committed -= (long)pages;
}
