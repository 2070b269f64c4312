using System.Diagnostics;
using System.Runtime.CompilerServices;
using EcsMem.Ecs;
using EcsMem.Perf;
using static EcsMem.Perf.EcsBenchShape;

namespace EcsMem.Perf.Ab;

/// <summary>
/// The ECS benchmark's random-access rows as one round the A/B host can call through reflection: 100k
/// random entities of 1M gain then lose a component (single calls, then the span forms), then 1M
/// version-checked Gets in shuffled order. Same shapes and seed as <c>EcsBenchmarks</c>.
/// </summary>
public static class AbWorkload
{
    private static World? _world;
    private static Entity[] _shuffled = [];
    private static Entity[] _changed = [];

    /// <summary>Names of the figures <see cref="Round"/> returns, in order (ns per change or per Get).</summary>
#if ECS_SPAN_FORMS
    public static string[] Figures => ["add", "remove", "get", "add span", "remove span"];
#else
    public static string[] Figures => ["add", "remove", "get"];
#endif

    /// <summary>One round; the first call builds the world.</summary>
    public static double[] Round()
    {
        World w = _world ??= Build();
        var sw = Stopwatch.StartNew();
        Adds(w, _changed);
        double add = Per(sw, Changes);
        Removes(w, _changed);
        double remove = Per(sw, Changes);
        double sum = Gets(w, _shuffled);
        double get = Per(sw, Entities);
        if (sum != Entities) // every C16 has X = 1
            throw new InvalidOperationException("components lost");
#if ECS_SPAN_FORMS
        w.Add(_changed, new Extra(1));
        double addSpan = Per(sw, Changes);
        w.Remove<Extra>(_changed);
        double removeSpan = Per(sw, Changes);
        return [add, remove, get, addSpan, removeSpan];
#else
        return [add, remove, get];
#endif
    }

    private static double Per(Stopwatch sw, int n)
    {
        double ns = sw.Elapsed.TotalNanoseconds / n;
        sw.Restart();
        return ns;
    }

    private static World Build()
    {
        var w = new World();
        var all = new Entity[Entities];
        w.CreateMany(all, new C16(1, 2), new C8(3), new C4(4));
        _shuffled = (Entity[])all.Clone();
        SeededShuffle.Shuffle(_shuffled, ShuffleSeed);
        _changed = _shuffled.AsSpan(0, Changes).ToArray();
        return w;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Adds(World w, Entity[] entities)
    {
        foreach (Entity e in entities)
            w.Add(e, new Extra(1));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Removes(World w, Entity[] entities)
    {
        foreach (Entity e in entities)
            w.Remove<Extra>(e);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double Gets(World w, Entity[] entities)
    {
        double sum = 0;
        foreach (Entity e in entities)
            sum += w.Get<C16>(e).X;
        return sum;
    }
}
