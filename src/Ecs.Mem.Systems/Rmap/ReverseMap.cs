namespace EcsMem.Systems.Rmap;

/// <summary>
/// Reverse mapping: for each frame, the (address space, virtual address) of every page-table entry that
/// maps it. Reclaim needs it to unmap a victim from all processes at once (try_to_unmap). This is the
/// per-PTE chain Linux 2.5 used (pte_chain) rather than today's anon_vma/i_mmap trees: simpler, exact,
/// and the chain length is the frame's mapcount by construction. Nodes live in pooled int/ulong arrays.
/// </summary>
public sealed class ReverseMap
{
    private readonly int[] _head; // per pfn: first node, -1 when unmapped
    private int[] _next = new int[1024];
    private int[] _mm = new int[1024];
    private ulong[] _va = new ulong[1024];
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
            }
        }
        _mm[n] = mm;
        _va[n] = va;
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
}
