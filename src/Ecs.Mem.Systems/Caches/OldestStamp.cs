using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Caches;

/// <summary>Finds the way with the smallest stamp (lowest way on ties, so runs are deterministic).</summary>
internal static class OldestStamp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Of(ReadOnlySpan<ulong> stamps)
    {
        int best = 0;
        ulong min = stamps[0];
        for (int w = 1; w < stamps.Length; w++)
        {
            if (stamps[w] < min)
            {
                min = stamps[w];
                best = w;
            }
        }
        return best;
    }
}
