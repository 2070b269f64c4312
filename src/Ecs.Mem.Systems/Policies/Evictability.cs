using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>Reads the caller's "may not be evicted right now" flags; an empty span pins nothing.</summary>
internal static class Evictability
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPinned(ReadOnlySpan<bool> unevictable, int frame) =>
        (uint)frame < (uint)unevictable.Length && unevictable[frame];
}
