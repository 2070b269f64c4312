using EcsMem.Ecs;

namespace EcsMem.Tests.Ecs;

/// <summary>
/// Model-based test: random operations applied both to a World and to a plain dictionary model, with the
/// whole world compared against the model after every step.
/// </summary>
public class WorldModelTests
{
    private sealed class Model
    {
        public readonly Dictionary<int, (int Version, Dictionary<Type, object> Components)> Live = new();
        public readonly List<Entity> Handles = new();  // live handles, for O(1) random picks
        public readonly List<Entity> Stale = new();    // handles of destroyed entities
    }

    /// <summary>Query descriptions compared against a brute-force filter after every step.</summary>
    internal static readonly (Type[] All, Type[] Any, Type[] None)[] Filters =
    [
        ([], [], []),
        ([typeof(Pos)], [], []),
        ([typeof(Pos), typeof(Vel)], [], []),
        ([], [typeof(Tag), typeof(Flag)], []),
        ([], [], [typeof(Named)]),
        ([typeof(Vel)], [typeof(Big), typeof(Named)], [typeof(Tag)]),
        ([typeof(Pos)], [], [typeof(Vel), typeof(Flag)]),
        ([typeof(Big), typeof(Named), typeof(Flag)], [], []),
    ];

    internal static QueryDescription Describe((Type[] All, Type[] Any, Type[] None) f)
    {
        ComponentType Ct(Type t) => Kind.All.Single(k => k.Type == t).ComponentType;
        return new QueryDescription()
            .WithAll(f.All.Select(Ct).ToArray())
            .WithAny(f.Any.Select(Ct).ToArray())
            .WithNone(f.None.Select(Ct).ToArray());
    }

    internal static bool BruteMatch((Type[] All, Type[] Any, Type[] None) f, IReadOnlyCollection<Type> set) =>
        f.All.All(set.Contains) && (f.Any.Length == 0 || f.Any.Any(set.Contains)) && !f.None.Any(set.Contains);

    [TestCase(1UL)]
    [TestCase(2UL)]
    [TestCase(20260124UL)]
    [TestCase(0xDEADBEEFUL)]
    public void RandomOperationsMatchADictionaryModel(ulong seed)
    {
        var rng = new TestRng(seed);
        var w = new World();
        var m = new Model();
        var descriptions = Filters.Select(Describe).ToArray();
        var opCounts = new int[10];

        for (int step = 0; step < 20_000; step++)
        {
            int op = PickOp(ref rng, m.Handles.Count);
            opCounts[op]++;
            string what = Apply(op, w, m, ref rng);
            Check(w, m, descriptions, ref rng, $"seed {seed} step {step}: {what}");
        }
        // Each kind of operation really happened many times (the mix is not degenerate).
        Assert.That(opCounts, Has.All.GreaterThan(200), string.Join(",", opCounts));
    }

    private static int PickOp(ref TestRng rng, int live)
    {
        int r = rng.Below(100);
        int op;
        if (r < 8) op = 0;          // untyped create
        else if (r < 14) op = 1;    // typed create
        else if (r < 17) op = 9;    // CreateMany (1..12 entities)
        else if (r < 27) op = 2;    // destroy
        else if (r < 42) op = 3;    // add
        else if (r < 57) op = 4;    // remove
        else if (r < 71) op = 5;    // set
        else if (r < 80) op = 6;    // get through ref and write
        else if (r < 90) op = 7;    // stale handle use
        else op = 8;                // mismatch: add existing / remove, get or set missing
        // Keep the population near 150 (so the full comparison after each step stays cheap while chunks
        // still fill and swap-removes happen); with no entity, only creation makes sense.
        if (live >= 150 && (op == 0 || op == 1 || op == 9)) op = 2;
        if (live == 0 && op != 1 && op != 9) op = 0;
        return op;
    }

    private static string Apply(int op, World w, Model m, ref TestRng rng)
    {
        Kind[] kinds = Kind.All;
        switch (op)
        {
            case 0:
                {
                    var chosenList = new List<Kind>();
                    foreach (var k in kinds)
                        if (rng.Below(3) == 0)
                            chosenList.Add(k);
                    var chosen = chosenList.ToArray();
                    Entity e = w.Create(chosen.Select(k => k.ComponentType).ToArray());
                    AddToModel(m, e, chosen.ToDictionary(k => k.Type, k => Default(k.Type)));
                    return $"create untyped {e} [{string.Join(",", chosen.Select(k => k.Type.Name))}]";
                }
            case 1:
                {
                    var pos = (Pos)kinds[0].Random(ref rng);
                    var vel = (Vel)kinds[1].Random(ref rng);
                    var named = (Named)kinds[5].Random(ref rng);
                    var flag = (Flag)kinds[3].Random(ref rng);
                    Entity e;
                    Dictionary<Type, object> comps;
                    switch (rng.Below(4))
                    {
                        case 0: e = w.Create(pos); comps = new() { [typeof(Pos)] = pos }; break;
                        case 1: e = w.Create(vel, named); comps = new() { [typeof(Vel)] = vel, [typeof(Named)] = named }; break;
                        case 2: e = w.Create(flag, pos, vel); comps = new() { [typeof(Flag)] = flag, [typeof(Pos)] = pos, [typeof(Vel)] = vel }; break;
                        default:
                            e = w.Create(pos, vel, flag, named);
                            comps = new() { [typeof(Pos)] = pos, [typeof(Vel)] = vel, [typeof(Flag)] = flag, [typeof(Named)] = named };
                            break;
                    }
                    AddToModel(m, e, comps);
                    return $"create typed {e}";
                }
            case 2:
                {
                    int i = rng.Below(m.Handles.Count);
                    Entity e = m.Handles[i];
                    w.Destroy(e);
                    m.Handles[i] = m.Handles[^1];
                    m.Handles.RemoveAt(m.Handles.Count - 1);
                    m.Live.Remove(e.Id);
                    m.Stale.Add(e);
                    return $"destroy {e}";
                }
            case 3:
                {
                    Entity e = m.Handles[rng.Below(m.Handles.Count)];
                    var comps = m.Live[e.Id].Components;
                    var missing = kinds.Where(k => !comps.ContainsKey(k.Type)).ToArray();
                    if (missing.Length == 0) return "add: nothing missing";
                    Kind k = missing[rng.Below(missing.Length)];
                    object v = k.Random(ref rng);
                    k.Add(w, e, v);
                    comps[k.Type] = v;
                    return $"add {k} to {e}";
                }
            case 4:
                {
                    Entity e = m.Handles[rng.Below(m.Handles.Count)];
                    var comps = m.Live[e.Id].Components;
                    if (comps.Count == 0) return "remove: nothing present";
                    Kind k = kinds.Where(x => comps.ContainsKey(x.Type)).ElementAt(rng.Below(comps.Count));
                    k.Remove(w, e);
                    comps.Remove(k.Type);
                    return $"remove {k} from {e}";
                }
            case 5:
            case 6:
                {
                    Entity e = m.Handles[rng.Below(m.Handles.Count)];
                    var comps = m.Live[e.Id].Components;
                    if (comps.Count == 0) return "set: nothing present";
                    Kind k = kinds.Where(x => comps.ContainsKey(x.Type)).ElementAt(rng.Below(comps.Count));
                    object v = k.Random(ref rng);
                    if (op == 5 || k.Type != typeof(Pos))
                        k.Set(w, e, v);
                    else
                    {
                        // Write through the reference Get returns.
                        ref Pos p = ref w.Get<Pos>(e);
                        p = (Pos)v;
                    }
                    comps[k.Type] = v;
                    return $"set {k} of {e}";
                }
            case 7:
                {
                    if (m.Stale.Count == 0) return "stale: none yet";
                    Entity s = m.Stale[rng.Below(m.Stale.Count)];
                    Kind k = kinds[rng.Below(kinds.Length)];
                    object v = k.Random(ref rng);
                    Assert.That(w.IsAlive(s), Is.False);
                    Assert.That(k.TryGet(w, s, out _), Is.False);
                    Assert.That(() => k.Get(w, s), Throws.TypeOf<StaleEntityException>());
                    Assert.That(() => k.Set(w, s, v), Throws.TypeOf<StaleEntityException>());
                    Assert.That(() => k.Add(w, s, v), Throws.TypeOf<StaleEntityException>());
                    Assert.That(() => k.Remove(w, s), Throws.TypeOf<StaleEntityException>());
                    Assert.That(() => w.Destroy(s), Throws.TypeOf<StaleEntityException>());
                    return $"stale {s}";
                }
            case 8:
                {
                    Entity e = m.Handles[rng.Below(m.Handles.Count)];
                    var comps = m.Live[e.Id].Components;
                    Kind k = kinds[rng.Below(kinds.Length)];
                    object v = k.Random(ref rng);
                    if (comps.ContainsKey(k.Type))
                        Assert.That(() => k.Add(w, e, v), Throws.TypeOf<ComponentMismatchException>());
                    else
                    {
                        Assert.That(() => k.Remove(w, e), Throws.TypeOf<ComponentMismatchException>());
                        Assert.That(() => k.Get(w, e), Throws.TypeOf<ComponentMismatchException>());
                        Assert.That(() => k.Set(w, e, v), Throws.TypeOf<ComponentMismatchException>());
                    }
                    return $"mismatch {k} on {e}";
                }
            default:
                {
                    int n = 1 + rng.Below(12);
                    var created = new Entity[n];
                    var tag = (Tag)kinds[2].Random(ref rng);
                    var big = (Big)kinds[4].Random(ref rng);
                    w.CreateMany(created, tag, big);
                    foreach (var e in created)
                        AddToModel(m, e, new Dictionary<Type, object> { [typeof(Tag)] = tag, [typeof(Big)] = big });
                    return $"create many {n}";
                }
        }
    }

    private static object Default(Type t) => Activator.CreateInstance(t)!;

    private static void AddToModel(Model m, Entity e, Dictionary<Type, object> comps)
    {
        Assert.That(m.Live.ContainsKey(e.Id), Is.False, $"{e} handed out while its id is live");
        // A recycled id must come with a version no earlier handle had.
        Assert.That(m.Stale.Any(s => s == e), Is.False, $"{e} reuses a stale handle");
        m.Live[e.Id] = (e.Version, comps);
        m.Handles.Add(e);
    }

    private static void Check(World w, Model m, QueryDescription[] descriptions, ref TestRng rng, string context)
    {
        if (w.Size != m.Live.Count)
            Assert.Fail($"{context}: size {w.Size} != model {m.Live.Count}");
        foreach (var (id, (version, comps)) in m.Live)
        {
            var e = new Entity(id, version);
            if (!w.IsAlive(e))
                Assert.Fail($"{context}: {e} should be alive");
            var types = w.GetComponentTypes(e);
            if (types.Length != comps.Count || !types.All(t => comps.ContainsKey(t.Type)))
                Assert.Fail($"{context}: {e} has [{string.Join(",", types.Select(t => t.Type.Name))}], model [{string.Join(",", comps.Keys.Select(t => t.Name))}]");
            foreach (var k in Kind.All)
            {
                bool has = comps.TryGetValue(k.Type, out object? expected);
                if (k.Has(w, e) != has)
                    Assert.Fail($"{context}: Has<{k}>({e}) wrong");
                if (has && !k.Get(w, e).Equals(expected))
                    Assert.Fail($"{context}: {e}.{k} = {k.Get(w, e)}, model {expected}");
            }
        }
        // Every row of every chunk belongs to a live model entity (no ghost rows), and counts agree.
        int rows = 0;
        foreach (var a in w.Archetypes)
            for (int c = 0; c < a.ChunkCount; c++)
                foreach (var e in a.GetChunk(c).EntitySpan)
                {
                    rows++;
                    if (!m.Live.TryGetValue(e.Id, out var rec) || rec.Version != e.Version)
                        Assert.Fail($"{context}: chunk holds {e} which the model does not have");
                }
        if (rows != m.Live.Count)
            Assert.Fail($"{context}: {rows} rows in chunks, model has {m.Live.Count}");
        for (int i = 0; i < descriptions.Length; i++)
        {
            var f = Filters[i];
            int expected = m.Live.Values.Count(v => BruteMatch(f, v.Components.Keys));
            int got = w.CountEntities(descriptions[i]);
            if (got != expected)
                Assert.Fail($"{context}: filter {descriptions[i]} counts {got}, brute force {expected}");
        }
        // A random stale handle is rejected by the checked operations.
        if (m.Stale.Count > 0)
        {
            Entity s = m.Stale[rng.Below(m.Stale.Count)];
            if (w.IsAlive(s))
                Assert.Fail($"{context}: stale {s} reported alive");
        }
    }
}
