namespace EcsMem.Traces.Synthetic;

/// <summary>
/// Pointer chasing through a linked list laid out in random order: <c>Nodes</c> nodes of
/// <c>NodeSize</c> bytes, linked into one cycle by a random cyclic permutation (Sattolo's
/// algorithm, which yields a single cycle through every node). Each access loads the next
/// pointer of the current node at <c>Base + NodeSize * node</c>, starting from node 0, so every
/// access depends on the previous one and defeats prefetching.
/// </summary>
public sealed class PointerChaseWorkload : SyntheticWorkload
{
    /// <summary>Largest node count accepted (the successor table takes 4 bytes per node).</summary>
    public const long MaxNodes = 1L << 26;

    private readonly ulong _nodeSize;
    private readonly int[] _next;
    private int _current;

    public PointerChaseWorkload(in WorkloadCommon common, ulong nodeSize, long nodes, string sourceName = "chase")
        : base(sourceName, common)
    {
        ArgumentOutOfRangeException.ThrowIfZero(nodeSize);
        if (nodes is < 1 or > MaxNodes) throw new ArgumentOutOfRangeException(nameof(nodes));
        _nodeSize = nodeSize;
        // Sattolo: like Fisher-Yates but j < i strictly, which makes the permutation one n-cycle.
        var perm = new int[nodes];
        for (int i = 0; i < perm.Length; i++) perm[i] = i;
        for (int i = perm.Length - 1; i > 0; i--)
        {
            int j = (int)Rng.NextBelow((ulong)i);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        _next = perm;
    }

    /// <summary>The successor of each node (a single cycle).</summary>
    public ReadOnlySpan<int> Successors => _next;

    protected override void Fill(Span<MemoryAccess> output)
    {
        for (int i = 0; i < output.Length; i++)
        {
            output[i] = new MemoryAccess(Base + _nodeSize * (ulong)_current, Process, Size, AccessKind.Load);
            _current = _next[_current];
        }
    }
}
