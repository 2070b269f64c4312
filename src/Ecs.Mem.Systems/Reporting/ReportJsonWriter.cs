using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// The report as one JSON object (schema in docs/report.md), written with <see cref="Utf8JsonWriter"/> in a
/// fixed key order. Counters keep the names the text report prints (/proc/vmstat names, ecsmem_ for the
/// simulator's own); /proc/&lt;pid&gt;/status and /proc/meminfo fields keep their file names, in kB. Ratios
/// are rounded to 9 decimals so they print the same on every platform.
/// </summary>
public static class ReportJsonWriter
{
    public static string Write(SimulationReport r)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            Write(w, r);
        return Encoding.UTF8.GetString(ms.ToArray()).Replace("\r\n", "\n") + "\n";
    }

    public static void Write(Utf8JsonWriter w, SimulationReport r)
    {
        w.WriteStartObject();
        JsonContract.WriteHeader(w, SimulationReport.SchemaVersion);
        w.WriteString("scenario", r.Source);
        w.WriteBoolean("partial", r.Partial);
        w.WriteString("policy", r.Policy);
        w.WriteString("paging", r.Paging);
        w.WriteNumber("ram_kb", r.RamBytes / 1024);
        w.WriteNumber("swap_kb", r.SwapBytes / 1024);
        w.WriteNumber("quantum", r.Quantum);
        w.WriteNumber("seed", r.Seed);
        if (r.WarmupAccesses is { } warmup)
            w.WriteNumber("warmup_accesses", warmup);
        EffectiveConfiguration(w, r.EffectiveConfiguration);

        w.WriteStartObject("time");
        w.WriteNumber("cycles", r.Cycles);
        w.WriteNumber("seconds", Round(r.Seconds));
        w.WriteNumber("clock_ghz", r.ClockGHz);
        w.WriteNumber("accesses", r.Accesses);
        w.WriteNumber("amat", Round(r.Amat));
        w.WriteNumber("effective_cycles_per_access", Round(r.EffectiveAccessTime));
        w.WriteStartObject("cycles_by_category");
        foreach (var row in r.Breakdown)
        {
            w.WriteStartObject(row.Name);
            w.WriteNumber("cycles", row.Cycles);
            w.WriteNumber("per_access", Round(row.PerAccess));
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartObject("tlb");
        TlbLevels(w, r.Tlb);
        if (r.TlbBySize.Count > 0)
        {
            w.WriteStartObject("by_page_size");
            TlbLevels(w, r.TlbBySize);
            w.WriteEndObject();
        }
        if (r.Psc.Count > 0)
        {
            w.WriteStartObject("psc");
            TlbLevels(w, r.Psc);
            w.WriteEndObject();
        }
        Counters(w, "events", r.TlbEvents);
        w.WriteEndObject();

        w.WriteStartObject("caches");
        foreach (var c in r.Caches)
        {
            w.WriteStartObject(c.Name);
            w.WriteNumber("size", c.SizeBytes);
            w.WriteNumber("ways", c.Ways);
            w.WriteNumber("line", c.LineBytes);
            w.WriteNumber("accesses", c.Accesses);
            w.WriteNumber("misses", c.Misses);
            w.WriteNumber("miss_rate", Round(c.MissRate));
            w.WriteNumber("writebacks", c.WriteBacks);
            w.WriteEndObject();
        }
        w.WriteEndObject();

        Counters(w, "faults", r.Faults);
        Counters(w, "swap", r.Swap);
        Counters(w, "reclaim", r.Reclaim);
        w.WriteNumber("oom_kill", r.OomKills);
        Strings(w, "oom_log", r.OomLog);
        Strings(w, "kill_log", r.KillLog);
        Mechanisms(w, r.Mechanisms);
        Strings(w, "address_space_log", r.AddressSpaceLog);

        w.WriteStartArray("processes");
        foreach (var p in r.Processes)
            Process(w, p);
        w.WriteEndArray();
        // Only with --snapshot; placed among the existing keys so that every line of a report without it is unchanged.
        if (r.Snapshots.Count > 0)
            SnapshotFormat.WriteJson(w, r.Snapshots);

        Counters(w, "vmstat", r.VmStat);
        Counters(w, "meminfo", r.MemInfo);
        w.WriteStartArray("buddyinfo");
        foreach (long n in r.BuddyFree)
            w.WriteNumberValue(n);
        w.WriteEndArray();
        if (r.PageTypes is { } pt)
            PageTypes(w, pt);
        if (r.FaultBatches is not null)
        {
            // Several CPUs only: faults per batch → batches.
            w.WriteStartObject("fault_batches");
            foreach (var (size, count) in r.FaultBatches)
                w.WriteNumber(size.ToString(System.Globalization.CultureInfo.InvariantCulture), count);
            w.WriteEndObject();
        }
        if (r.Pagesets is not null)
        {
            // Only when the per-CPU lists are on (machine.per_cpu_pages, the default).
            w.WriteStartArray("pagesets");
            foreach (var p in r.Pagesets)
            {
                w.WriteStartObject();
                w.WriteNumber("cpu", p.Cpu);
                w.WriteNumber("count", p.Count);
                w.WriteNumber("high", p.High);
                w.WriteNumber("batch", p.Batch);
                if (p.Tuned)
                {
                    w.WriteNumber("high_min", p.HighMin);
                    w.WriteNumber("high_max", p.HighMax);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        // Only once khugepaged has woken, so a report without THP keeps its keys.
        if (r.Khugepaged is not null)
            Counters(w, "khugepaged", r.Khugepaged);
        // Only with an mTHP size enabled (machine.thp.sizes).
        if (r.Mthp is not null)
            Counters(w, "mthp", r.Mthp);
        if (r.Cgroups is not null)
            MemcgFiles.WriteJson(w, r.Cgroups);
        if (r.LruGen is not null)
            LruGenFiles.WriteJson(w, r.LruGen);
        w.WriteEndObject();
    }

    /// <summary>The effective configuration as one object, keys in the text report's order (dotted scenario keys).</summary>
    private static void EffectiveConfiguration(Utf8JsonWriter w, IReadOnlyList<ConfigValue> values)
    {
        w.WriteStartObject("effective_configuration");
        foreach (var v in values)
        {
            switch (v.Kind)
            {
                case ConfigValueKind.Number:
                    w.WritePropertyName(v.Key);
                    w.WriteRawValue(v.Text);
                    break;
                case ConfigValueKind.Bool:
                    w.WriteBoolean(v.Key, v.Text == "true");
                    break;
                case ConfigValueKind.List when v.Text == Reporting.EffectiveConfiguration.NoList:
                    w.WriteNull(v.Key);
                    break;
                case ConfigValueKind.List:
                    w.WritePropertyName(v.Key);
                    w.WriteRawValue(v.Text);
                    break;
                default:
                    w.WriteString(v.Key, v.Text);
                    break;
            }
        }
        w.WriteEndObject();
    }

    private static void Process(Utf8JsonWriter w, ProcessReport p)
    {
        var s = p.Stats;
        w.WriteStartObject();
        w.WriteNumber("pid", p.Pid);
        w.WriteNumber("ppid", p.ParentPid);
        w.WriteString("name", p.Name);
        w.WriteString("state", p.StateName);
        w.WriteNumber("signal", p.ExitSignal);
        w.WriteNumber("accesses", s.Accesses);
        w.WriteNumber("instr_fetches", s.InstrFetches);
        w.WriteNumber("loads", s.Loads);
        w.WriteNumber("stores", s.Stores);
        w.WriteNumber("modifies", s.Modifies);
        w.WriteNumber("min_flt", s.MinFlt);
        w.WriteNumber("maj_flt", s.MajFlt);
        w.WriteNumber("cow_copy", s.CowCopies);
        w.WriteNumber("cow_reuse", s.CowReuses);
        w.WriteNumber("zero_page", s.ZeroPageMaps);
        w.WriteNumber("stack_grow", s.StackGrowths);
        w.WriteNumber("pagecache_hit", s.PageCacheHits);
        w.WriteNumber("swap_in", s.SwapIns);
        w.WriteNumber("swapcache_hit", s.SwapCacheHits);
        w.WriteNumber("dtlb_hit", s.DtlbHits);
        w.WriteNumber("itlb_hit", s.ItlbHits);
        w.WriteNumber("stlb_hit", s.StlbHits);
        w.WriteNumber("tlb_miss", s.TlbMisses);
        w.WriteNumber("tlb_hit", Round(p.TlbHitRate));
        w.WriteNumber("l1_misses", s.L1Misses);
        w.WriteNumber("l2_misses", s.L2Misses);
        w.WriteNumber("l3_misses", s.L3Misses);
        w.WriteNumber("l1_miss", Round(p.L1MissRate));
        w.WriteNumber("l2_miss", Round(p.L2MissRate));
        w.WriteNumber("l3_miss", Round(p.L3MissRate));
        w.WriteNumber("cpu_cycles", s.CpuCycles);
        w.WriteNumber("io_wait_cycles", s.IoWaitCycles);
        w.WriteStartObject("status");
        for (int i = 0; i < ProcStatus.FieldNames.Count; i++)
            w.WriteNumber(ProcStatus.FieldNames[i], p.Status[i]);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>"mechanisms": one object per mechanism, its numbers under snake_case keys (no summary text).</summary>
    private static void Mechanisms(Utf8JsonWriter w, IReadOnlyList<Mechanism> mechanisms)
    {
        if (mechanisms.Count == 0)
            return;
        w.WriteStartObject("mechanisms");
        foreach (var m in mechanisms)
        {
            w.WriteStartObject(m.Key);
            foreach (var v in m.Values)
            {
                if (v.IsRatio)
                    w.WriteNumber(v.Name, Round(v.Ratio));
                else
                    w.WriteNumber(v.Name, v.Count);
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>A list of named numbers as one JSON object, in list order (the report's sections, snapshots' /proc files).</summary>
    internal static void Counters(Utf8JsonWriter w, string name, IReadOnlyList<NamedValue> values)
    {
        w.WriteStartObject(name);
        foreach (var v in values)
            w.WriteNumber(v.Name, v.Value);
        w.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string> lines)
    {
        w.WriteStartArray(name);
        foreach (string l in lines)
            w.WriteStringValue(l);
        w.WriteEndArray();
    }

    private static double Round(double v) => Math.Round(v, 9, MidpointRounding.ToEven);

    /// <summary>/proc/pagetypeinfo's figures: {"page_block_order", "pages_per_block", "free": {type: [per order]}, "blocks": {type: n}}.</summary>
    internal static void PageTypes(Utf8JsonWriter w, PageTypeFigures pt)
    {
        w.WriteStartObject("pagetypeinfo");
        w.WriteNumber("page_block_order", PageAlloc.BuddyAllocator.PageblockOrder);
        w.WriteNumber("pages_per_block", PageAlloc.BuddyAllocator.PageblockPages);
        w.WriteStartObject("free");
        for (int mt = 0; mt < pt.Free.Length; mt++)
        {
            w.WriteStartArray(PageAlloc.PageTypeInfo.TypeNames[mt]);
            foreach (long n in pt.Free[mt])
                w.WriteNumberValue(n);
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteStartObject("blocks");
        for (int mt = 0; mt < pt.Blocks.Length; mt++)
            w.WriteNumber(PageAlloc.PageTypeInfo.TypeNames[mt], pt.Blocks[mt]);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>One object per TLB level (or per page size, or per paging-structure cache): hits, misses, hit rate.</summary>
    private static void TlbLevels(Utf8JsonWriter w, IReadOnlyList<TlbLevelStats> levels)
    {
        foreach (var t in levels)
        {
            w.WriteStartObject(t.Name);
            w.WriteNumber("hits", t.Hits);
            w.WriteNumber("misses", t.Misses);
            w.WriteNumber("hit_rate", Round(t.HitRate));
            w.WriteEndObject();
        }
    }
}
