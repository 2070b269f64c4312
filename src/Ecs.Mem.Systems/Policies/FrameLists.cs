using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// Several intrusive doubly-linked lists over the same node set (frames, or ARC's ghost slots), kept in
/// int arrays so moving a node costs a few stores and never allocates. Each list is circular through a
/// sentinel node (index nodeCount + list). Head is the most recently added end (MRU), tail the other (LRU).
/// A node is in at most one list.
/// </summary>
internal sealed class FrameLists
{
    private readonly int[] _next;
    private readonly int[] _prev;
    private readonly sbyte[] _list;
    private readonly int[] _count;
    private readonly int _nodes;

    /// <summary>
    /// Pages each node stands for when the lists count pages, not nodes (the lruvec's: a large folio is one node of
    /// 2^order pages, lruvec_add_folio's folio_nr_pages); null when every node counts one.
    /// </summary>
    private readonly int[]? _weight;

    public FrameLists(int nodeCount, int listCount, bool weighted = false)
    {
        if (weighted)
        {
            _weight = new int[nodeCount];
            Array.Fill(_weight, 1);
        }
        _nodes = nodeCount;
        _next = new int[nodeCount + listCount];
        _prev = new int[nodeCount + listCount];
        _list = new sbyte[nodeCount];
        _count = new int[listCount];
        Array.Fill(_list, (sbyte)-1);
        for (int l = 0; l < listCount; l++)
        {
            int s = nodeCount + l;
            _next[s] = s;
            _prev[s] = s;
        }
    }

    public int Count(int list) => _count[list];

    /// <summary>Sets the pages <paramref name="node"/> stands for (weighted lists only); the node must be on no list.</summary>
    public void SetWeight(int node, int pages)
    {
        if (_list[node] >= 0)
            throw new InvalidOperationException($"node {node} changes weight while on list {_list[node]}");
        _weight![node] = pages;
    }

    /// <summary>Changes the pages <paramref name="node"/>, on a list, stands for (a large folio split in place).</summary>
    public void Reweight(int node, int pages)
    {
        _count[_list[node]] += pages - _weight![node];
        _weight[node] = pages;
    }

    /// <summary>Links <paramref name="node"/> (on no list) just before <paramref name="at"/>, on its list, towards the head.</summary>
    public void InsertBefore(int at, int node) => Link(_prev[at], at, node, _list[at]);

    /// <summary>The pages <paramref name="node"/> stands for (1 on unweighted lists).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Weight(int node) => _weight is null ? 1 : _weight[node];

    /// <summary>The list <paramref name="node"/> is on, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ListOf(int node) => _list[node];

    /// <summary>MRU end of <paramref name="list"/>, or -1 when empty.</summary>
    public int Head(int list)
    {
        int h = _next[_nodes + list];
        return h >= _nodes ? -1 : h;
    }

    /// <summary>LRU end of <paramref name="list"/>, or -1 when empty.</summary>
    public int Tail(int list)
    {
        int t = _prev[_nodes + list];
        return t >= _nodes ? -1 : t;
    }

    /// <summary>The node after <paramref name="node"/> towards the tail, or -1.</summary>
    public int Next(int node)
    {
        int n = _next[node];
        return n >= _nodes ? -1 : n;
    }

    /// <summary>The node before <paramref name="node"/> towards the head, or -1.</summary>
    public int Prev(int node)
    {
        int p = _prev[node];
        return p >= _nodes ? -1 : p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PushHead(int list, int node) => Link(_nodes + list, _next[_nodes + list], node, list);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PushTail(int list, int node) => Link(_prev[_nodes + list], _nodes + list, node, list);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Remove(int node)
    {
        int p = _prev[node], n = _next[node];
        _next[p] = n;
        _prev[n] = p;
        _count[_list[node]] -= Weight(node);
        _list[node] = -1;
    }

    /// <summary>Moves <paramref name="node"/> (on any list) to the head of <paramref name="list"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MoveToHead(int list, int node)
    {
        int sentinel = _nodes + list;
        int head = _next[sentinel];
        if (head == node) return; // already the most recent: the common case for a hot page
        int p = _prev[node], n = _next[node];
        _next[p] = n;
        _prev[n] = p;
        int from = _list[node];
        if (from != list)
        {
            // Changing lists (ARC, two-list LRU): the counts move; within one list they do not.
            int w = Weight(node);
            _count[from] -= w;
            _count[list] += w;
            _list[node] = (sbyte)list;
        }
        _next[sentinel] = node;
        _prev[node] = sentinel;
        _next[node] = head;
        _prev[head] = node;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Link(int before, int after, int node, int list)
    {
        _next[before] = node;
        _prev[node] = before;
        _next[node] = after;
        _prev[after] = node;
        _list[node] = (sbyte)list;
        _count[list] += Weight(node);
    }
}
