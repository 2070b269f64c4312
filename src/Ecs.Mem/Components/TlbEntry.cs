using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EcsMem.Components;

/// <summary>
/// One TLB slot. TLB slots are entities of a pinned table (row = set × ways + way), so this component's
/// column is the TLB array itself: a lookup is a few loads from it, and a query over <see cref="TlbEntry"/>
/// sees every TLB of the machine.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct TlbEntry
{
    /// <summary>Tag: virtual page number in units of the entry's page size (va &gt;&gt; 12 or va &gt;&gt; 21).</summary>
    public ulong Vpn;

    /// <summary>Physical frame number (4 KiB units) of the first frame of the mapped page.</summary>
    public ulong Pfn;

    /// <summary>Hardware PCID the entry was filled under (kern_pcid(asid) = asid + 1; 0 without PCID).</summary>
    public ushort Pcid;

    public TlbFlags Flags;

    public PageSizeClass Size;

    public readonly bool IsValid
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (Flags & TlbFlags.Valid) != 0;
    }

    public readonly bool IsGlobal => (Flags & TlbFlags.Global) != 0;

    /// <summary>Page shift of the entry's size: 12 or 21.</summary>
    public readonly int PageShift => Size == PageSizeClass.Huge2M ? 21 : 12;

    /// <summary>The 4 KiB frame number <paramref name="va"/> translates to through this entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong TranslatePfn(ulong va) =>
        Size == PageSizeClass.Huge2M ? Pfn + ((va >> 12) & 511) : Pfn;

    /// <summary>
    /// True when the cached permissions allow the access without a fault: stores need Writable,
    /// fetches need !NoExecute, user-mode accesses need User.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Permits(bool write, bool fetch, bool userMode) =>
        (!write || (Flags & TlbFlags.Writable) != 0)
        && (!fetch || (Flags & TlbFlags.NoExecute) == 0)
        && (!userMode || (Flags & TlbFlags.User) != 0);
}
