using System.Globalization;
using System.Text;
using EcsMem.Traces;

namespace EcsMem.Systems.Caches.Cachegrind;

/// <summary>
/// Cachegrind's per-instruction cost centres for a trace replayed through a <see cref="CachegrindSimulator"/>, and
/// their output file (valgrind --tool=cachegrind --cachegrind-out-file=F, the file cg_annotate, cg_diff and
/// KCachegrind read). Cachegrind charges every event to the instruction that caused it (cg_main.c keeps one
/// cost centre per instruction address); here an instruction fetch sets the current instruction address and the
/// data accesses that follow it (a Lackey trace prints an instruction's data accesses right after its I line) are
/// charged to it. Data accesses before the first fetch (traces with no fetches: pinatrace, pages, oracleGeneral,
/// csv) are charged to address 0. The per-access cost is one copy of the nine counters; the table grows only with
/// the number of distinct instruction addresses.
/// </summary>
public sealed class CachegrindProfile
{
    private readonly CachegrindSimulator _sim;
    private readonly Dictionary<ulong, int> _index = new();
    private CachegrindCounts[] _costs = new CachegrindCounts[1024];
    private ulong[] _addresses = new ulong[1024];
    private int _count;
    private int _current = -1;

    public CachegrindProfile(CachegrindSimulator sim) => _sim = sim;

    /// <summary>The simulator whose counts are split by instruction.</summary>
    public CachegrindSimulator Simulator => _sim;

    /// <summary>Number of distinct instruction addresses charged.</summary>
    public int Instructions => _count;

    /// <summary>Simulates <paramref name="accesses"/> and charges each one's events to its instruction.</summary>
    public void Run(ReadOnlySpan<MemoryAccess> accesses)
    {
        foreach (ref readonly MemoryAccess a in accesses)
        {
            if (a.Kind == AccessKind.Instr || _current < 0)
                _current = IndexOf(a.Kind == AccessKind.Instr ? a.Address : 0);
            CachegrindCounts before = _sim.Counts;
            _sim.Access(a);
            CachegrindCounts after = _sim.Counts;
            ref CachegrindCounts c = ref _costs[_current];
            c.Ir += after.Ir - before.Ir;
            c.I1mr += after.I1mr - before.I1mr;
            c.ILmr += after.ILmr - before.ILmr;
            c.Dr += after.Dr - before.Dr;
            c.D1mr += after.D1mr - before.D1mr;
            c.DLmr += after.DLmr - before.DLmr;
            c.Dw += after.Dw - before.Dw;
            c.D1mw += after.D1mw - before.D1mw;
            c.DLmw += after.DLmw - before.DLmw;
        }
    }

    private int IndexOf(ulong address)
    {
        if (_index.TryGetValue(address, out int i)) return i;
        if (_count == _costs.Length)
        {
            Array.Resize(ref _costs, _count * 2);
            Array.Resize(ref _addresses, _count * 2);
        }
        _addresses[_count] = address;
        _index.Add(address, _count);
        return _count++;
    }

    /// <summary>The counts charged to instruction <paramref name="address"/> (zero if none).</summary>
    public CachegrindCounts CostOf(ulong address) => _index.TryGetValue(address, out int i) ? _costs[i] : default;

    /// <summary>
    /// Writes the cachegrind.out file in the layout Valgrind 3.19's Cachegrind writes (and cg_annotate/cg_diff
    /// 3.19 require): three <c>desc:</c> lines, <c>cmd:</c>, <c>events:</c>, then <c>fl=???</c> and one
    /// <c>fn=0xADDR</c> per instruction address in increasing order, each with one cost line on line 0 (what
    /// Cachegrind writes for code without debug information), and a <c>summary:</c> line equal to the totals.
    /// Newer Valgrind (3.21+) adds <c>version:</c>, <c>creator:</c> and <c>pid:</c> header lines, which 3.19's tools
    /// reject, so they are left out.
    /// </summary>
    public void WriteOutFile(TextWriter w, string command)
    {
        var inv = CultureInfo.InvariantCulture;
        w.Write(Desc("I1", _sim.Config.I1));
        w.Write(Desc("D1", _sim.Config.D1));
        w.Write(Desc("LL", _sim.Config.LL));
        w.Write("cmd: " + command.Replace('\n', ' ') + "\n");
        w.Write("events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw \n");
        w.Write("fl=???\n");
        var order = new int[_count];
        for (int i = 0; i < _count; i++) order[i] = i;
        Array.Sort(order, (a, b) => _addresses[a].CompareTo(_addresses[b]));
        var line = new StringBuilder(128);
        foreach (int i in order)
        {
            ref readonly CachegrindCounts c = ref _costs[i];
            line.Clear();
            line.Append(inv, $"fn=0x{_addresses[i]:x}\n0 ");
            Counts(line, c);
            w.Write(line.ToString());
        }
        line.Clear();
        line.Append("summary: ");
        Counts(line, _sim.Counts);
        w.Write(line.ToString());
    }

    private static void Counts(StringBuilder sb, in CachegrindCounts c) =>
        sb.Append(CultureInfo.InvariantCulture, $"{c.Ir} {c.I1mr} {c.ILmr} {c.Dr} {c.D1mr} {c.DLmr} {c.Dw} {c.D1mw} {c.DLmw}\n");

    /// <summary>Cachegrind's cache description line (cg_main.c): "direct-mapped" for one way, else "N-way associative".</summary>
    internal static string Desc(string name, CacheGeometry g) => string.Create(CultureInfo.InvariantCulture,
        $"desc: {name} cache:         {g.SizeBytes} B, {g.LineBytes} B, {(g.Ways == 1 ? "direct-mapped" : g.Ways + "-way associative")}\n");

    /// <summary>Writes the file atomically to <paramref name="path"/> (or standard output for <c>-</c>).</summary>
    public void WriteOutFile(string path, string command)
    {
        using var output = new AtomicFileOutput(path);
        using (var w = new StreamWriter(output.Stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" })
            WriteOutFile(w, command);
        output.Commit();
    }
}
