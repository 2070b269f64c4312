using System.Runtime.InteropServices;

namespace EcsMem.Components;

/// <summary>
/// One physical page frame: the simulator's <c>struct page</c> (include/linux/mm_types.h), one per pfn.
/// Kept to 40 bytes (checked by a test) so a frame table for 4 GiB of simulated RAM (1 Mi frames) is 40 MiB;
/// Linux packs its own into 64 bytes with unions, we keep only the fields the simulator's systems read.
/// </summary>
/// <remarks>
/// Which of <see cref="Mapping"/>/<see cref="Index"/> mean what depends on <see cref="FrameFlags.Anon"/>, exactly as
/// <c>page-&gt;mapping</c>'s low bit switches it between an <c>anon_vma</c> and an <c>address_space</c> in Linux.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
public struct Frame
{
    /// <summary>Page frame number (page_to_pfn(page); Linux derives it from the page's position in mem_map).</summary>
    public int Pfn;

    /// <summary>page-&gt;flags: PG_* state bits, see <see cref="FrameFlags"/>.</summary>
    public FrameFlags Flags;

    /// <summary>
    /// page-&gt;mapping: for an anonymous page (<see cref="FrameFlags.Anon"/>) the owning process/entity id (Linux: the
    /// anon_vma), otherwise the file id (Linux: the inode's address_space). -1 when the frame maps nothing.
    /// </summary>
    public int Mapping;

    /// <summary>
    /// page-&gt;_mapcount: number of page-table entries mapping this frame. Stored as the real count (0 = unmapped);
    /// Linux stores it biased by -1 so that "unmapped" is -1.
    /// </summary>
    public int MapCount;

    /// <summary>page-&gt;_refcount: references held (page tables, page cache, in-flight I/O, get_page() callers).</summary>
    public int RefCount;

    /// <summary>
    /// page-&gt;private when PageBuddy: the order of the free block this frame heads; -1 otherwise.
    /// Only meaningful to the buddy allocator (Linux: buddy_order()).
    /// </summary>
    public sbyte BuddyOrder;

    /// <summary>
    /// folio_order() of the large page-cache folio this frame is a page of (readahead's page_cache_ra_order), set on
    /// every page of it; 0 for a single page. The folio is the naturally aligned block of 2^order frames around the
    /// frame (its head is the first). Kept in what was padding, so the struct stays 40 bytes. THPs keep their own
    /// <see cref="FrameFlags.Thp"/> grouping and leave this 0.
    /// </summary>
    public sbyte FolioOrder;

    /// <summary>
    /// page-&gt;index: for a file page the page offset within the file; for an anonymous page the virtual page
    /// number within its owner (Linux: linear_page_index() of the address in its VMA).
    /// </summary>
    public long Index;

    /// <summary>
    /// No Linux counterpart (the real page holds data): a token standing for the page's content, written when the
    /// page is filled and compared after a swap-out/swap-in round trip to prove the content survived.
    /// </summary>
    public ulong ContentToken;

    /// <summary>A frame in the state the buddy allocator hands it out: no flags, unmapped, one reference.</summary>
    public static Frame Fresh(int pfn) => new()
    {
        Pfn = pfn,
        Flags = FrameFlags.None,
        Mapping = -1,
        MapCount = 0,
        RefCount = 1,
        BuddyOrder = -1,
        Index = 0,
        ContentToken = 0,
    };

    /// <summary>PageAnon(): the mapping names an anonymous owner.</summary>
    public readonly bool IsAnon => (Flags & FrameFlags.Anon) != 0;

    /// <summary>A shmem page (<see cref="FrameFlags.Shmem"/>): counted in MM_SHMEMPAGES, not MM_ANONPAGES.</summary>
    public readonly bool IsShmem => (Flags & FrameFlags.Shmem) != 0;

    /// <summary>Free: in the buddy allocator (PageBuddy) or on a per-CPU page list (<see cref="FrameFlags.PcpList"/>).</summary>
    public readonly bool IsFree => (Flags & (FrameFlags.Buddy | FrameFlags.PcpList)) != 0;

    /// <summary>True when every bit of <paramref name="flags"/> is set (Linux: the PageXxx() tests).</summary>
    public readonly bool Has(FrameFlags flags) => (Flags & flags) == flags;
}
