using System.Globalization;
using System.Text;
using System.Text.Json;
using EcsMem.Systems.Vmscan;

namespace EcsMem.Systems.Reporting;

/// <summary>One generation line of /sys/kernel/debug/lru_gen: seq, age in ms, anon and file pages.</summary>
public readonly record struct LruGenGeneration(long Seq, ulong AgeMs, long Anon, long File);

/// <summary>One lruvec's block of /sys/kernel/debug/lru_gen: its memcg (id, path), node 0, and its generations.</summary>
public sealed record LruGenFile(int MemcgId, string Path, IReadOnlyList<LruGenGeneration> Generations);

/// <summary>
/// /sys/kernel/debug/lru_gen (lru_gen_seq_show without the full statistics) for the report when the multi-gen LRU is
/// on: each memcg in mem_cgroup_iter's pre-order (the root is memcg 1, path <c>/</c>; cgroups follow in declaration
/// order with ids 2, 3, …), then from the lower min_seq to max_seq a line per generation.
/// </summary>
public static class LruGenFiles
{
    /// <summary>The file's content for the machine, or null when MGLRU is off.</summary>
    public static IReadOnlyList<LruGenFile>? Read(Kernel.Kernel k)
    {
        if (k.Lruvec is not { LruGenEnabled: true } root)
            return null;
        var files = new List<LruGenFile>();
        if (k.Memcg is { } mc)
        {
            foreach (Memcontrol.MemCgroup g in mc.Root.Subtree())
                files.Add(Read((Lruvec)g.Lruvec, g.Id + 1, g.Path));
        }
        else
        {
            files.Add(Read(root, 1, "/"));
        }
        return files;
    }

    private static LruGenFile Read(Lruvec lv, int id, string path)
    {
        var gens = new List<LruGenGeneration>();
        ulong now = lv.GenHost?.Jiffies ?? 0;
        for (long seq = Math.Min(lv.MinSeq(0), lv.MinSeq(1)); seq <= lv.MaxSeq; seq++)
        {
            int gen = (int)(seq % Lruvec.MaxNrGens);
            // jiffies_to_msecs at HZ = 250.
            gens.Add(new LruGenGeneration(seq, (now - lv.GenBirth(gen)) * 4, Math.Max(lv.GenPages(gen, 0), 0), Math.Max(lv.GenPages(gen, 1), 0)));
        }
        return new LruGenFile(id, path, gens);
    }

    /// <summary>The text report's section, in lru_gen_seq_show's format.</summary>
    public static void AppendText(StringBuilder sb, IReadOnlyList<LruGenFile> files, string title = "\n== /sys/kernel/debug/lru_gen ==\n")
    {
        var inv = CultureInfo.InvariantCulture;
        sb.Append(title);
        foreach (LruGenFile f in files)
        {
            sb.Append(inv, $"memcg {f.MemcgId,5} {f.Path}\n");
            sb.Append(inv, $" node {0,5}\n");
            foreach (LruGenGeneration g in f.Generations)
                sb.Append(inv, $" {g.Seq,10} {(uint)g.AgeMs,10} {g.Anon,10}  {g.File,10} \n");
        }
    }

    /// <summary>The JSON report's <c>lru_gen</c> array: one object per lruvec with its generations.</summary>
    public static void WriteJson(Utf8JsonWriter w, IReadOnlyList<LruGenFile> files)
    {
        w.WriteStartArray("lru_gen");
        foreach (LruGenFile f in files)
        {
            w.WriteStartObject();
            w.WriteNumber("memcg", f.MemcgId);
            w.WriteString("path", f.Path);
            w.WriteNumber("node", 0);
            w.WriteStartArray("generations");
            foreach (LruGenGeneration g in f.Generations)
            {
                w.WriteStartObject();
                w.WriteNumber("seq", g.Seq);
                w.WriteNumber("age_ms", g.AgeMs);
                w.WriteNumber("anon", g.Anon);
                w.WriteNumber("file", g.File);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
