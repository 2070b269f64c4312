namespace EcsMem.Systems.Rmap;

/// <summary>
/// Reverse mapping: for each frame, the (address space, virtual address) of every page-table entry that
/// maps it. Reclaim needs it to unmap a victim from all processes at once (try_to_unmap). This is the
/// per-PTE chain Linux 2.5 used (pte_chain) rather than today's anon_vma/i_mmap trees: simpler, exact,
/// and the chain length is the frame's mapcount by construction. Nodes live in pooled int/ulong arrays.
/// Each node also remembers, once a reclaim walk has found it, the page-table store's number of the leaf table holding
/// its PTE (<see cref="LeafPte"/>): the PTE maps the frame for as long as the node lives, so that table is neither freed
/// nor replaced meanwhile (free_pgtables frees only empty tables; mremap and migration make new nodes), and the
/// later walks of reclaim go straight to the entry, as Linux's rmap walk reaches the PTE through its VMA's pmd.
/// </summary>
public sealed class ReverseMap
{
    private readonly int[] _head; // per pfn: first node, -1 when unmapped
    private int[] _next = new int[1024];
    private int[] _mm = new int[1024];
    private ulong[] _va = new ulong[1024];
    private int[] _leaf = new int[1024]; // per node: the leaf table's store number, -1 until a walk finds it
    private int _freeNode = -1;
    private int _nodes;

    /// <summary>The incremental checker's record of the tick's changes (null when checking is off).</summary>
    internal Kernel.DirtySet? Dirty;

    public ReverseMap(int frames)
    {
        _head = new int[frames];
        Array.Fill(_head, -1);
    }

    /// <summary>page_add_*_rmap: the PTE of (<paramref name="mm"/>, <paramref name="va"/>) now maps <paramref name="pfn"/>.</summary>
    public void Add(int pfn, int mm, ulong va)
    {
        Dirty?.Frame(pfn);
        int n;
        if (_freeNode >= 0)
        {
            n = _freeNode;
            _freeNode = _next[n];
        }
        else
        {
            n = _nodes++;
            if (n == _next.Length)
            {
                Array.Resize(ref _next, n * 2);
                Array.Resize(ref _mm, n * 2);
                Array.Resize(ref _va, n * 2);
                Array.Resize(ref _leaf, n * 2);
            }
        }
        _mm[n] = mm;
        _va[n] = va;
        _leaf[n] = -1;
        _next[n] = _head[pfn];
        _head[pfn] = n;
    }

    /// <summary>page_remove_rmap: the PTE of (<paramref name="mm"/>, <paramref name="va"/>) no longer maps <paramref name="pfn"/>.</summary>
    public void Remove(int pfn, int mm, ulong va)
    {
        Dirty?.Frame(pfn);
        int prev = -1;
        for (int n = _head[pfn]; n >= 0; prev = n, n = _next[n])
        {
            if (_mm[n] == mm && _va[n] == va)
            {
                if (prev < 0) _head[pfn] = _next[n];
                else _next[prev] = _next[n];
                _next[n] = _freeNode;
                _freeNode = n;
                return;
            }
        }
        throw new InvalidOperationException($"frame {pfn} has no mapping at mm {mm} va 0x{va:x}");
    }

    /// <summary>True when some PTE maps <paramref name="pfn"/>.</summary>
    public bool IsMapped(int pfn) => _head[pfn] >= 0;

    /// <summary>Number of mappings (the mapcount), by walking the chain.</summary>
    public int Count(int pfn)
    {
        int c = 0;
        for (int n = _head[pfn]; n >= 0; n = _next[n]) c++;
        return c;
    }

    /// <summary>
    /// Copies the mappings of <paramref name="pfn"/> into <paramref name="into"/> (cleared first), newest
    /// first. Callers copy before unmapping because unmapping edits the chain.
    /// </summary>
    public void CopyTo(int pfn, List<(int Mm, ulong Va)> into)
    {
        into.Clear();
        for (int n = _head[pfn]; n >= 0; n = _next[n])
            into.Add((_mm[n], _va[n]));
    }

    /// <summary>
    /// Copies the mappings of <paramref name="pfn"/> with their node numbers into <paramref name="into"/> (cleared first),
    /// newest first, for <see cref="LeafPte"/>; a node number stays valid only until the next Add or Remove.
    /// </summary>
    public void CopyTo(int pfn, List<RmapMapping> into)
    {
        into.Clear();
        for (int n = _head[pfn]; n >= 0; n = _next[n])
            into.Add(new RmapMapping(_mm[n], _va[n], n));
    }

    /// <summary>
    /// The PTE of mapping <paramref name="m"/> (copied by <see cref="CopyTo(int, List{RmapMapping})"/> since the last
    /// Add or Remove) in <paramref name="tables"/>, its mm's page table (page_vma_mapped_walk's pte): through the leaf
    /// table the node remembers, or by the walk of <see cref="AddressSpace.PageTable.WalkLeaf"/>, whose leaf table the
    /// node then remembers. A null reference when no table covers the address.
    /// </summary>
    public ref ulong LeafPte(in RmapMapping m, AddressSpace.PageTable tables)
    {
        int leaf = _leaf[m.Node];
        if (leaf >= 0)
            return ref tables.Store.Entry(leaf, tables.LeafIndex(m.Va));
        ref ulong pte = ref tables.WalkLeaf(m.Va, out leaf);
        _leaf[m.Node] = leaf;
        return ref pte;
    }

    /// <summary>
    /// The chain node of the mapping (<paramref name="mm"/>, <paramref name="va"/>) of <paramref name="pfn"/>, or -1 when
    /// no PTE there maps it: for a later stage of the tick to reach the PTE through <see cref="LeafPte"/>.
    /// </summary>
    public int Find(int pfn, int mm, ulong va)
    {
        for (int n = _head[pfn]; n >= 0; n = _next[n])
        {
            if (_va[n] == va && _mm[n] == mm)
                return n;
        }
        return -1;
    }

    /// <summary>
    /// For the invariant checker: the leaf table that mapping <paramref name="m"/>'s node remembers, if any, holds the
    /// entry <paramref name="tables"/>' walk finds for its address.
    /// </summary>
    public bool LeafIsCurrent(in RmapMapping m, AddressSpace.PageTable tables)
    {
        int leaf = _leaf[m.Node];
        if (leaf < 0)
            return true;
        ref ulong walked = ref tables.Walk(m.Va, out _);
        return !System.Runtime.CompilerServices.Unsafe.IsNullRef(ref walked)
            && System.Runtime.CompilerServices.Unsafe.AreSame(ref walked, ref tables.Store.Entry(leaf, tables.LeafIndex(m.Va)));
    }
}

/// <summary>One reverse mapping of a frame: the mm, the virtual address, and its chain node (<see cref="ReverseMap.LeafPte"/>).</summary>
public readonly record struct RmapMapping(int Mm, ulong Va, int Node);
