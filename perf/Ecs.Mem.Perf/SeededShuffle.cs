namespace EcsMem.Perf;

/// <summary>
/// The benchmarks' seeded Fisher–Yates shuffle, with its own SplitMix64 so the order never changes between
/// runtimes (System.Random's may). Shared with the A/B workload (perf/Ecs.Mem.AbBench links this file), so
/// both walk the entities in the same order.
/// </summary>
public static class SeededShuffle
{
    public static void Shuffle<T>(T[] items, ulong seed)
    {
        ulong s = seed;
        for (int i = items.Length - 1; i > 0; i--)
        {
            ulong z = s += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            int j = (int)((z ^ (z >> 31)) % (ulong)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
