using EcsMem.Ecs;

namespace EcsMem.Tests.Ecs;

// Component types of different sizes (16, 8, 4, 1, 32 bytes) and one holding a reference, so row moves,
// swap-removes and clears are exercised for every column shape the world stores.

public record struct Pos(double X, double Y);

public record struct Vel(long V);

public record struct Tag(int V);

public record struct Flag(byte B);

public record struct Big(long A, long B, long C, long D);

public record struct Named(string? Name, int N);

/// <summary>SplitMix64: a tiny seeded PRNG whose sequence cannot change under us (unlike System.Random).</summary>
public struct TestRng(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, n).</summary>
    public int Below(int n) => (int)(Next() % (ulong)n);
}

/// <summary>
/// One component type seen through object-typed operations, so the model test can pick a type at random
/// and still call the world's generic API for it.
/// </summary>
public abstract class Kind
{
    public abstract Type Type { get; }
    public abstract ComponentType ComponentType { get; }
    public abstract object Random(ref TestRng rng);
    public abstract void Add(World w, Entity e, object value);
    public abstract void Remove(World w, Entity e);
    public abstract void Set(World w, Entity e, object value);
    public abstract object Get(World w, Entity e);
    public abstract bool Has(World w, Entity e);
    public abstract bool TryGet(World w, Entity e, out object? value);
    public abstract void RecordAdd(CommandBuffer cb, Entity e, object value);
    public abstract void RecordSet(CommandBuffer cb, Entity e, object value);
    public abstract void RecordRemove(CommandBuffer cb, Entity e);
    public override string ToString() => Type.Name;

    public static readonly Kind[] All =
    [
        new Kind<Pos>(r => new Pos(r.Below(1000) * 0.5, -r.Below(1000))),
        new Kind<Vel>(r => new Vel((long)r.Next())),
        new Kind<Tag>(r => new Tag(r.Below(int.MaxValue))),
        new Kind<Flag>(r => new Flag((byte)r.Below(256))),
        new Kind<Big>(r => new Big((long)r.Next(), 1, (long)r.Next(), -1)),
        new Kind<Named>(r => new Named("n" + r.Below(100000), r.Below(7))),
    ];
}

public sealed class Kind<T>(Func<TestRng, T> make) : Kind where T : struct
{
    public override Type Type => typeof(T);
    public override ComponentType ComponentType => Component<T>.Type;

    public override object Random(ref TestRng rng)
    {
        // Advance the caller's generator once and derive the value from that draw, so sequences stay seeded.
        var local = new TestRng(rng.Next());
        return make(local);
    }

    public override void Add(World w, Entity e, object value) => w.Add(e, (T)value);
    public override void Remove(World w, Entity e) => w.Remove<T>(e);
    public override void Set(World w, Entity e, object value) => w.Set(e, (T)value);
    public override object Get(World w, Entity e) => w.Get<T>(e);
    public override bool Has(World w, Entity e) => w.Has<T>(e);

    public override bool TryGet(World w, Entity e, out object? value)
    {
        bool ok = w.TryGet(e, out T v);
        value = ok ? v : null;
        return ok;
    }

    public override void RecordAdd(CommandBuffer cb, Entity e, object value) => cb.Add(e, (T)value);
    public override void RecordSet(CommandBuffer cb, Entity e, object value) => cb.Set(e, (T)value);
    public override void RecordRemove(CommandBuffer cb, Entity e) => cb.Remove<T>(e);
}
