using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// One intrusive doubly-linked list of frames, the lean form of <see cref="FrameLists"/> for the one-list
/// policies (LRU, FIFO), which need no list tags or counts. Head = most recently pushed (MRU), tail = the
/// other end (LRU). Moving a node is a few stores; nothing allocates after construction.
/// </summary>
/// <remarks>
/// Layout, chosen for the ideal-mode replay loop, where this is inlined into the loop and every value it keeps in
/// a register is one the loop cannot: one array of (next, prev) pairs, so a node's two links share a cache line and
/// the loop holds one array, not two; frame f in slot f + 1 and the sentinel of the circular list in slot 0, so the
/// sentinel is a constant, not a field. Accesses are not bounds-checked (<see cref="At"/>): every slot is a frame
/// below frameCount plus one, which the callers check once at their boundary (<see cref="Check"/>), or a link read
/// from the array, which only ever holds such slots and 0. The ideal-mode replay checks its frames itself (each is
/// below the frame count by construction), so its inlined hooks pay no check at all, as a C loop would not.
/// </remarks>
internal readonly struct RecencyList
{
    private struct Link
    {
        public int Next; // towards the tail
        public int Prev; // towards the head
    }

    private readonly Link[] _links;

    public RecencyList(int frameCount)
    {
        _links = new Link[frameCount + 1]; // slot 0, the sentinel, links to itself: the empty list
    }

    /// <summary>Throws unless <paramref name="node"/> is a frame of this list (0 .. frameCount-1).</summary>
    public void Check(int node)
    {
        if ((uint)node >= (uint)(_links.Length - 1))
            ThrowOutOfRange(node);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOutOfRange(int node) =>
        throw new ArgumentOutOfRangeException(nameof(node), node, $"frame {node} is not one of the {_links.Length - 1} frames");

    /// <summary>Slot <paramref name="slot"/> without a bounds check (see the remarks above).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref Link At(Link[] links, int slot) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(links), (nint)(uint)slot);

    /// <summary>The tail (least recently pushed or moved), or -1 when empty.</summary>
    public int Tail
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => At(_links, 0).Prev - 1; // the sentinel's own slot 0 gives -1
    }

    /// <summary>The node before <paramref name="node"/> towards the head, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Prev(int node) => At(_links, node + 1).Prev - 1;

    /// <summary>Links <paramref name="node"/> (not on the list) at the head.</summary>
    // Every access is At(links, slot), an address the caller's loop computes from the array and a slot number in
    // one instruction; holding a ref to the sentinel or the node across the stores made the JIT keep them in
    // registers it then had to spill in the ideal-mode loop.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PushHead(int node)
    {
        Link[] links = _links;
        int s = node + 1;
        int head = At(links, 0).Next;
        At(links, 0).Next = s;
        At(links, s) = new Link { Next = head, Prev = 0 };
        At(links, head).Prev = s;
    }

    /// <summary>Moves <paramref name="node"/> (on the list) to the head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MoveToHead(int node)
    {
        Link[] links = _links;
        int s = node + 1;
        int head = At(links, 0).Next;
        if (head == s) return; // already the most recent: the common case for a hot page
        Link l = At(links, s);
        At(links, l.Prev).Next = l.Next;
        At(links, l.Next).Prev = l.Prev;
        At(links, 0).Next = s;
        At(links, s) = new Link { Next = head, Prev = 0 };
        At(links, head).Prev = s;
    }

    /// <summary>Unlinks <paramref name="node"/> (on the list).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Remove(int node)
    {
        Link[] links = _links;
        ref Link l = ref At(links, node + 1);
        int p = l.Prev, n = l.Next;
        At(links, p).Next = n;
        At(links, n).Prev = p;
    }
}
