using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EcsMem.Systems.Filemap;

/// <summary>
/// The page cache's side of the workingset shadow-node shrinker (mm/workingset.c): the shadow_nodes list_lru, one list
/// a memory cgroup (the group the leaf node is charged to; uncharged nodes are the root's), of the leaf xarray nodes
/// whose entries are all shadows (workingset_update_node), oldest first, and xa_delete_node for the shrinker.
/// Only leaves of regular files get there: a shmem object's nodes hold swap entries, never shadows (Linux keeps
/// shmem mappings off the list: mapping_set_update).
/// </summary>
public sealed partial class PageCache
{
    // list_lru_one of each group (index: the charged group's id, 0 for the root and uncharged nodes): the leaves' keys
    // in the order they joined, with the stamp they joined with (a leaf whose LruGen differs has left since).
    private sealed class ShadowList
    {
        public readonly List<(long Key, int Gen)> Items = new();
        public int Start;
        public int Len;
    }

    private readonly List<ShadowList?> _shadowLists = new();
    private int _shadowGen;

    /// <summary>Leaves on the shadow-node lists (WORKINGSET_NODES, machine-wide).</summary>
    public int ShadowNodeCount { get; private set; }

    private static int ListOf(int group) => group < 0 ? 0 : group;

    private ShadowList ListFor(int group)
    {
        int i = ListOf(group);
        while (_shadowLists.Count <= i)
            _shadowLists.Add(null);
        return _shadowLists[i] ??= new ShadowList();
    }

    /// <summary>list_lru_shrink_count(&amp;shadow_nodes, sc): the shadow-only leaves charged to group <paramref name="group"/> (0: the root).</summary>
    public long ShadowNodes(int group)
    {
        int i = ListOf(group);
        return i < _shadowLists.Count && _shadowLists[i] is { } l ? l.Len : 0;
    }

    /// <summary>A leaf's shadow entries changed by <paramref name="delta"/> (a page evicted to a shadow, or a shadow's slot refilled).</summary>
    private void LeafShadowsChanged(int file, long index, int delta)
    {
        long key = NodeKey(file, index, 0);
        ref XaNode n = ref CollectionsMarshal.GetValueRefOrNullRef(_xaNodes[0], key);
        if (Unsafe.IsNullRef(ref n))
            return;
        n.Shadows += delta;
        WorkingsetUpdateNode(key, ref n);
    }

    /// <summary>
    /// workingset_update_node: a leaf that holds entries, all of them shadows (count == nr_values), joins its group's
    /// list's tail (list_lru_add_obj); one that holds a page or is being freed leaves it (list_lru_del_obj). A leaf of
    /// a tree that only holds index 0 is no node (the entry lives in xa_head) and never joins.
    /// </summary>
    private void WorkingsetUpdateNode(long key, ref XaNode n)
    {
        bool shadowOnly = n.Used > 0 && n.Used == n.Shadows && n.Group != -2;
        if (shadowOnly == (n.LruGen != 0))
            return;
        ShadowList l = ListFor(n.Group);
        if (shadowOnly)
        {
            n.LruGen = ++_shadowGen == 0 ? ++_shadowGen : _shadowGen;
            l.Items.Add((key, n.LruGen));
            l.Len++;
            ShadowNodeCount++;
        }
        else
        {
            n.LruGen = 0;
            l.Len--;
            ShadowNodeCount--;
        }
    }

    /// <summary>
    /// list_lru_shrink_walk's list_lru_isolate of up to <paramref name="nrToWalk"/> leaves from the head of group
    /// <paramref name="group"/>'s list (each taken off it, WORKINGSET_NODES down); their keys go to
    /// <paramref name="isolated"/> for <see cref="XaDeleteNode"/>.
    /// </summary>
    public void ListLruShrinkWalk(int group, long nrToWalk, List<long> isolated)
    {
        isolated.Clear();
        int i = ListOf(group);
        if (i >= _shadowLists.Count || _shadowLists[i] is not { } l)
            return;
        while (nrToWalk > 0 && l.Start < l.Items.Count)
        {
            var (key, gen) = l.Items[l.Start++];
            ref XaNode n = ref CollectionsMarshal.GetValueRefOrNullRef(_xaNodes[0], key);
            if (Unsafe.IsNullRef(ref n) || n.LruGen != gen)
                continue; // left the list since (a page came back, or the node was freed)
            nrToWalk--;
            n.LruGen = 0;
            l.Len--;
            ShadowNodeCount--;
            isolated.Add(key);
        }
        if (l.Start > 1024 && l.Start * 2 > l.Items.Count)
        {
            l.Items.RemoveRange(0, l.Start);
            l.Start = 0;
        }
    }

    /// <summary>
    /// shadow_lru_isolate's xa_delete_node: the isolated leaf <paramref name="leafKey"/>, whose entries are all shadows,
    /// loses them (the refaults they would have detected are now first faults) and is freed, and each node above it
    /// left empty with it (xas_delete_node). Returns the group the leaf was charged to (-1: none).
    /// </summary>
    public int XaDeleteNode(long leafKey)
    {
        ref XaNode n = ref CollectionsMarshal.GetValueRefOrNullRef(_xaNodes[0], leafKey);
        if (Unsafe.IsNullRef(ref n) || n.Used == 0 || n.Used != n.Shadows)
            throw new InvalidOperationException($"xarray leaf {leafKey:x} holds more than shadow entries");
        (int file, long first) = LeafOf(leafKey);
        for (long index = first; index < first + (1 << XaChunkShift); index++)
        {
            long key = Key(file, index);
            if (_pfnByKey.TryGetValue(key, out long v))
            {
                if (v >= -1 || IsSwapValue(v))
                    throw new InvalidOperationException($"page {index} of file {file} is not a shadow entry");
                _pfnByKey.Remove(key);
            }
        }
        int group = n.Group;
        _xaNodes[0].Remove(leafKey);
        XaNodeCount--;
        if (group >= 0)
            Nodes!.NodeFree(group);
        NodeEntryRemoved(file, first, fromLevel: 1);
        return group;
    }
}
