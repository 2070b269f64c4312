using EcsMem.Diagnostics;

namespace EcsMem.Systems.Policies;

/// <summary>
/// Replacement policies by name (case-insensitive). Built-ins are registered here, one line each;
/// outside code (a study, a test, a plug-in) adds its own with <see cref="Register"/> and then
/// uses it by name everywhere a policy name is accepted (e.g. <c>ecsmem run --ideal --policy NAME</c>).
/// </summary>
public static class PolicyRegistry
{
    private static readonly object Gate = new();
    private static readonly Dictionary<string, (Func<PolicyOptions, IReplacementPolicy> Factory, string Summary)> Entries =
        new(StringComparer.OrdinalIgnoreCase);

    static PolicyRegistry()
    {
        Register("fifo", _ => new FifoPolicy(), "first in, first out");
        Register("lru", _ => new LruPolicy(), "exact least recently used");
        Register("clock", _ => new ClockPolicy(referencedOnLoad: false), "CLOCK / second chance, new pages start unreferenced");
        Register("clock-ref", _ => new ClockPolicy(referencedOnLoad: true), "CLOCK / second chance, new pages start referenced");
        Register("linux", _ => new LruLinuxPolicy(), "Linux active/inactive two-list LRU (mm/vmscan.c)");
        Register("lfu", _ => new LfuPolicy(), "least frequently used, LRU among equal counts");
        Register("arc", _ => new ArcPolicy(), "Adaptive Replacement Cache (Megiddo & Modha 2003), real-valued p as libCacheSim");
        Register("arc-int", _ => new ArcPolicy(integerRatios: true), "ARC with the δ ratios rounded down (integer p)");
        Register("opt", _ => new OptPolicy(), "Belady's optimal, offline (needs the whole trace)");
        Register("random", o => new RandomPolicy(o.Seed), "uniformly random victim, seeded");
    }

    /// <summary>Adds or replaces the policy called <paramref name="name"/>.</summary>
    public static void Register(string name, Func<PolicyOptions, IReplacementPolicy> factory, string summary = "")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        lock (Gate) Entries[name] = (factory, summary);
    }

    /// <summary>All registered names, sorted (ordinal).</summary>
    public static IReadOnlyList<string> Names
    {
        get
        {
            lock (Gate)
            {
                var names = new List<string>(Entries.Keys);
                names.Sort(StringComparer.Ordinal);
                return names;
            }
        }
    }

    /// <summary>The one-line description given at registration.</summary>
    public static string Summary(string name)
    {
        lock (Gate) return Entries.TryGetValue(name, out var e) ? e.Summary : "";
    }

    public static bool Contains(string name)
    {
        lock (Gate) return Entries.ContainsKey(name);
    }

    /// <summary>
    /// A new, uninitialised instance of the policy <paramref name="name"/>. An unknown name throws
    /// <see cref="InputException"/> listing the known names; <paramref name="source"/> names where the name came from.
    /// </summary>
    public static IReplacementPolicy Create(string name, PolicyOptions options, string source = "command line")
    {
        Func<PolicyOptions, IReplacementPolicy>? factory;
        lock (Gate) factory = Entries.TryGetValue(name, out var e) ? e.Factory : null;
        if (factory is null)
            throw new InputException(source, 0, name, "unknown replacement policy (known: " + string.Join(", ", Names) + ")");
        return factory(options);
    }
}
