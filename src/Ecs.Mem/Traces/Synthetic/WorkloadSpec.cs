using System.Globalization;
using EcsMem.Diagnostics;

namespace EcsMem.Traces.Synthetic;

/// <summary>
/// A synthetic workload written as one compact string, <c>KIND:key=value,key=value</c>, e.g.
/// <c>zipf:count=1000000,pages=50000,alpha=0.9,seed=1</c>. Used by <c>ecsmem gen</c> and scenario files.
/// Parsing checks every key and value, so <see cref="Create"/> only fails for lack of memory.
/// See docs/traces.md for the kinds and their parameters.
/// </summary>
public sealed class WorkloadSpec
{
    /// <summary>4 KiB pages: <c>pages=P</c> makes each element one page at address page * 4096.</summary>
    public const ulong PageSize = 4096;

    private static readonly string[] CommonKeys = ["count", "seed", "base", "region", "elem", "pages", "size", "pid", "writes"];

    /// <summary>Kinds and their extra keys.</summary>
    private static readonly Dictionary<string, string[]> Kinds = new(StringComparer.Ordinal)
    {
        ["seq"] = [],
        ["uniform"] = [],
        ["zipf"] = ["alpha"],
        ["loop"] = [],
        ["phase"] = ["ws", "phaselen", "shift"],
        ["scanhot"] = ["hot", "hotfrac"],
        ["matmul"] = ["n", "a", "b", "c"],
        ["chase"] = [],
    };

    /// <summary>matmul takes only these common keys: its layout comes from n, a, b, c.</summary>
    private static readonly string[] MatMulCommon = ["count", "seed", "base", "pid"];

    private readonly Func<ITraceReader> _factory;

    private WorkloadSpec(string text, string kind, Func<ITraceReader> factory)
    {
        Text = text;
        Kind = kind;
        _factory = factory;
    }

    /// <summary>The spec as written.</summary>
    public string Text { get; }

    /// <summary>The workload kind (seq, uniform, zipf, loop, phase, scanhot, matmul, chase).</summary>
    public string Kind { get; }

    /// <summary>The known kinds.</summary>
    public static IEnumerable<string> KnownKinds => Kinds.Keys;

    /// <summary>A fresh generator at the start of the trace; each call replays the same accesses.</summary>
    public ITraceReader Create() => _factory();

    /// <summary>Parses <paramref name="text"/>; errors name <paramref name="source"/> and <paramref name="line"/>.</summary>
    public static WorkloadSpec Parse(string text, string source = "command line", long line = 0)
    {
        string s = text.Trim();
        int colon = s.IndexOf(':');
        string kind = colon < 0 ? s : s[..colon];
        if (!Kinds.TryGetValue(kind, out var extra))
            throw new InputException(source, line, kind, "unknown workload (known: " + string.Join(", ", Kinds.Keys) + ")");
        var allowed = kind == "matmul" ? MatMulCommon.Concat(extra).ToArray() : CommonKeys.Concat(extra).ToArray();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (colon >= 0)
        {
            foreach (string part in s[(colon + 1)..].Split(','))
            {
                int eq = part.IndexOf('=');
                if (eq <= 0 || eq == part.Length - 1)
                    throw new InputException(source, line, part, $"workload '{kind}': expected key=value");
                string key = part[..eq].Trim();
                string value = part[(eq + 1)..].Trim();
                if (Array.IndexOf(allowed, key) < 0)
                    throw new InputException(source, line, key, $"workload '{kind}': unknown parameter (known: {string.Join(", ", allowed)})");
                if (!values.TryAdd(key, value))
                    throw new InputException(source, line, key, $"workload '{kind}': parameter given twice");
            }
        }
        var p = new Params(kind, values, source, line);
        Func<ITraceReader> factory = Build(kind, p, s);
        return new WorkloadSpec(s, kind, factory);
    }

    private static Func<ITraceReader> Build(string kind, Params p, string name)
    {
        if (kind == "matmul")
        {
            ulong n = p.UInt("n", 64, 1, 1 << 20);
            ulong bytes = checked(n * n * 8);
            ulong baseAddr = p.Address("base", 0x10000000);
            ulong a = CheckMatrix(p, "a", p.Address("a", baseAddr), bytes);
            ulong b = CheckMatrix(p, "b", p.Address("b", a + bytes), bytes);
            ulong c = CheckMatrix(p, "c", p.Address("c", b + bytes), bytes);
            long mcount = p.Count((long)MatMulWorkload.AccessesPerMultiply(n));
            var mc = new WorkloadCommon(mcount, p.Seed(), baseAddr, p.Pid(), 8, 0);
            return () => new MatMulWorkload(mc, n, a, b, c, name);
        }

        bool pages = p.Has("pages");
        if (pages && (p.Has("region") || p.Has("elem")))
            throw p.Error(p.Has("region") ? "region" : "elem", "pages=P sets region and elem (P pages of 4096 bytes); give one or the other");
        ulong elem, elements, baseDefault;
        if (pages)
        {
            elem = PageSize;
            elements = p.UInt("pages", 0, 1, 1UL << 40);
            baseDefault = 0;
        }
        else
        {
            elem = p.Size("elem", kind == "chase" ? 64UL : 8UL, 1);
            ulong region = p.Size("region", 16UL << 20, 1);
            if (region < elem)
                throw p.Error("region", $"region must hold at least one element of {elem} bytes");
            elements = region / elem;
            baseDefault = 0x10000000;
        }
        ulong baseAddress = p.Address("base", baseDefault);
        if (elements > 0 && elem * (elements - 1) > ulong.MaxValue - baseAddress)
            throw p.Error("base", "base + region exceeds the 64-bit address space");
        ushort size = (ushort)p.UInt("size", Math.Min(elem, 8), 1, ushort.MaxValue);
        double writes = p.Fraction("writes", 0);
        if (kind == "chase" && p.Has("writes"))
            throw p.Error("writes", "it only loads (it follows pointers), so writes is not allowed");
        long count = p.Count(1_000_000);
        var common = new WorkloadCommon(count, p.Seed(), baseAddress, p.Pid(), size, writes);

        switch (kind)
        {
            case "seq":
                if ((ulong)count > elements)
                    throw p.Error("count", $"a sequential pass of {count} accesses needs {count} elements but the region has {elements} (use 'loop' to sweep repeatedly)");
                return () => new SequentialWorkload(common, elem, name);
            case "uniform":
                return () => new UniformWorkload(common, elem, elements, name);
            case "loop":
                return () => new LoopWorkload(common, elem, elements, name);
            case "zipf":
                {
                    if (elements > (ulong)ZipfTable.MaxRanks)
                        throw p.Error(pages ? "pages" : "region", $"zipf supports at most {ZipfTable.MaxRanks} elements (has {elements})");
                    double alpha = p.Double("alpha", 0.99, 0, 100);
                    return () => new ZipfWorkload(common, elem, (long)elements, alpha, name);
                }
            case "phase":
                {
                    ulong ws = p.UInt("ws", Math.Max(1, elements / 8), 1, elements);
                    long phaseLength = (long)p.UInt("phaselen", 100_000, 1, long.MaxValue);
                    ulong shift = p.UInt("shift", ws, 0, elements);
                    return () => new PhaseWorkload(common, elem, elements, ws, phaseLength, shift, name);
                }
            case "scanhot":
                {
                    if (elements < 2)
                        throw p.Error(pages ? "pages" : "region", "scanhot needs at least 2 elements (a hot set and a scan)");
                    ulong hot = p.UInt("hot", Math.Max(1, elements / 10), 1, elements - 1);
                    double hotFraction = p.Fraction("hotfrac", 0.5);
                    return () => new ScanHotWorkload(common, elem, elements, hot, hotFraction, name);
                }
            default: // chase
                if (elements > (ulong)PointerChaseWorkload.MaxNodes)
                    throw p.Error(pages ? "pages" : "region", $"chase supports at most {PointerChaseWorkload.MaxNodes} nodes (has {elements})");
                return () => new PointerChaseWorkload(common, elem, (long)elements, name);
        }
    }

    private static ulong CheckMatrix(Params p, string key, ulong address, ulong bytes)
    {
        if (address > ulong.MaxValue - bytes)
            throw p.Error(p.Has(key) ? key : "base", $"matrix {key.ToUpperInvariant()} ({bytes} bytes) would end beyond the 64-bit address space");
        return address;
    }

    /// <summary>Typed access to the key=value pairs, with errors naming the key and value.</summary>
    private sealed class Params(string kind, Dictionary<string, string> values, string source, long line)
    {
        public bool Has(string key) => values.ContainsKey(key);

        public InputException Error(string key, string problem) =>
            new(source, line, values.TryGetValue(key, out var v) ? $"{key}={v}" : key, $"workload '{kind}': {problem}");

        public long Count(long fallback) => (long)UInt("count", (ulong)fallback, 1, long.MaxValue);

        public ulong Seed() => Has("seed") ? Address("seed", 0) : 1;

        public int Pid() => (int)UInt("pid", 0, 0, int.MaxValue);

        public ulong UInt(string key, ulong fallback, ulong min, ulong max)
        {
            if (!values.TryGetValue(key, out var s)) return fallback;
            if (!ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) || v < min || v > max)
                throw Error(key, $"{key} must be an integer from {min} to {max}");
            return v;
        }

        /// <summary>An address or seed: decimal, or hex with a 0x prefix.</summary>
        public ulong Address(string key, ulong fallback)
        {
            if (!values.TryGetValue(key, out var s)) return fallback;
            bool ok = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong v)
                : ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
            if (!ok)
                throw Error(key, $"{key} must be a decimal or 0x-prefixed hex number");
            return v;
        }

        /// <summary>A byte size such as 4096, 64K, 16M.</summary>
        public ulong Size(string key, ulong fallback, ulong min)
        {
            if (!values.TryGetValue(key, out var s)) return fallback;
            long v;
            try
            {
                v = SizeParser.Parse(s, source, line, $"workload '{kind}': {key}");
            }
            catch (InputException)
            {
                throw Error(key, $"{key} must be a size such as 4096, 64K, 16M");
            }
            if ((ulong)v < min)
                throw Error(key, $"{key} must be at least {min}");
            return (ulong)v;
        }

        public double Double(string key, double fallback, double min, double max)
        {
            if (!values.TryGetValue(key, out var s)) return fallback;
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v >= min && v <= max))
                throw Error(key, $"{key} must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
            return v;
        }

        public double Fraction(string key, double fallback) => Double(key, fallback, 0, 1);
    }
}
