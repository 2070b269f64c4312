namespace EcsMem.Perf;

/// <summary>
/// The world the ECS benchmarks measure: one million entities with components of 16, 8 and 4 bytes, 100k of
/// them (a seeded shuffle's first) gaining and losing a 4-byte component. Shared with the A/B workload
/// (perf/Ecs.Mem.AbBench links this file), so both measure the same thing.
/// </summary>
public static class EcsBenchShape
{
    public const int Entities = 1_000_000;
    public const int Changes = 100_000;

    /// <summary>Seed of <see cref="SeededShuffle"/> for the entities' random order.</summary>
    public const ulong ShuffleSeed = 12345;

    public record struct C16(double X, double Y);
    public record struct C8(long V);
    public record struct C4(int V);
    public record struct Extra(int V);
}
