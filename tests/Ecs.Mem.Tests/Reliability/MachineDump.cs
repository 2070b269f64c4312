using System.Globalization;
using System.Reflection;
using System.Text;
using EcsMem.Components;
using EcsMem.Systems.Timing;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Everything observable about a finished run, as text: simulated time, every counter, every field of every
/// process's Process and ProcessStats, each mm's RSS/swap/VM figures, cache and TLB counters, cycle accounting,
/// /proc/buddyinfo and the kernel's logs. Two runs are equivalent exactly when their dumps are equal. The
/// tick count is left out on purpose: it is the one thing the batch size is allowed to change.
/// </summary>
internal static class MachineDump
{
    public static string Of(EcsMem.Systems.Machine.Machine m)
    {
        var sb = new StringBuilder();
        var k = m.Kernel;
        Line(sb, $"now {m.Env.Now} finished {m.Finished} accesses {m.CompletedAccesses()} idle {m.Access.IdleCycles}");
        foreach (var kv in m.Env.Counters.All())
            Line(sb, $"counter {kv.Key} {kv.Value}");
        foreach (var e in k.Tasks.Processes)
        {
            Process p = k.World.Get<Process>(e);
            ProcessStats st = k.World.Get<ProcessStats>(e);
            Line(sb, $"process {k.Tasks.ProcessName(p)} {Fields(p)}");
            Line(sb, $"  stats {Fields(st)}");
            var mm = k.Tasks.MmOf(e);
            Line(sb, $"  mm {Fields(mm.Mm.Struct)} hiwater_rss {mm.HiwaterRss} hiwater_vm {mm.HiwaterVm} vmas {mm.Mm.Vmas.Count}");
        }
        foreach (var level in k.Caches.Levels)
            Line(sb, $"cache {level.Name} {Fields(level.Counters)}");
        foreach (CycleCategory c in Enum.GetValues<CycleCategory>())
            Line(sb, $"cycles {c} {k.Cycles[c]}");
        Line(sb, $"cycles accesses {k.Cycles.Accesses} total {k.Cycles.TotalCycles}");
        Line(sb, $"buddyinfo {k.Zone.Buddy.FormatBuddyInfo()} free {k.Zone.Buddy.NrFreePages}");
        Line(sb, $"swap used {k.Swap.UsedPages} swapcache {k.SwapCache.Count} pagecache {k.PageCache.Count}");
        foreach (var l in k.Tasks.KillLog) Line(sb, "kill " + l);
        foreach (var l in k.Oom.Log) Line(sb, "oom " + l);
        foreach (var l in m.AddressSpace.Log) Line(sb, "syscall " + l);
        // The frame table itself: which page every frame ended up holding.
        var frames = new HashCode();
        foreach (ref readonly Frame f in k.Zone.Frames.AsSpan())
            frames.Add(HashCode.Combine(f.Flags, f.Mapping, f.MapCount, f.Index, f.ContentToken));
        Line(sb, $"frames hash {frames.ToHashCode()}");
        return sb.ToString();
    }

    private static void Line(StringBuilder sb, FormattableString s) => sb.Append(FormattableString.Invariant(s)).Append('\n');

    private static void Line(StringBuilder sb, string s) => sb.Append(s).Append('\n');

    /// <summary>name=value for every public instance field of a struct, in declaration order.</summary>
    private static string Fields<T>(T value) where T : struct
    {
        var sb = new StringBuilder();
        foreach (FieldInfo f in typeof(T).GetFields(BindingFlags.Public | BindingFlags.Instance))
            sb.Append(f.Name).Append('=').Append(Convert.ToString(f.GetValue(value), CultureInfo.InvariantCulture)).Append(' ');
        return sb.ToString();
    }
}
