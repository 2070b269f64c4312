using System.Globalization;
using System.Text;
using System.Text.Json;
using EcsMem.Diagnostics;
using EcsMem.Systems.Ideal;

namespace EcsMem.Cli.Commands;

/// <summary>
/// One shard's results as a self-describing JSON file (a "part"): the whole grid it belongs to, which shard it
/// is and which cells that covers, a digest of each trace it read, and one record per cell. Nothing in it
/// depends on the machine, the time or the thread count, so re-running a shard gives the same bytes.
/// <c>ecsmem merge</c> reads parts back (<see cref="Read"/>) and checks they fit together.
/// </summary>
public sealed class SweepPart
{
    /// <summary>The "format" field every part carries.</summary>
    public const string Format = "ecsmem-sweep-part";

    /// <summary>The part format's version, its "schema" (2: snake_case keys, the ecsmem object; docs/schemas/sweep-part.schema.json).</summary>
    public const int Version = 2;

    public required SweepGrid Grid { get; init; }
    public required ShardSpec Shard { get; init; }
    public required long FirstCell { get; init; }
    public required long EndCell { get; init; }

    /// <summary>The ecsmem version that computed the part (parts of different versions are not merged).</summary>
    public required string Program { get; init; }

    /// <summary>The traces this shard read: (trace index, references, <see cref="Digest"/> of the page numbers).</summary>
    public required IReadOnlyList<(int Trace, long References, ulong Digest)> TraceDigests { get; init; }

    /// <summary>The rows of cells FirstCell .. EndCell-1, in order.</summary>
    public required IReadOnlyList<SweepRow> Rows { get; init; }

    /// <summary>
    /// FNV-1a 64 taken over whole 64-bit page numbers (xor a number, multiply by the FNV prime) rather than bytes:
    /// eight times fewer steps (a 10^9-reference trace costs one multiply per reference), still enough to catch
    /// a trace that differs between shards.
    /// </summary>
    public static ulong Digest(ulong[] pages)
    {
        ulong h = 14695981039346656037UL;
        foreach (ulong page in pages)
            h = (h ^ page) * 1099511628211UL;
        return h;
    }

    /// <summary>The part as indented JSON (UTF-8).</summary>
    public byte[] ToJson()
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("schema", Version);
            w.WriteStartObject("ecsmem");
            w.WriteString("version", Program); // the version merge compares (the writer's own, but a test may set another)
            w.WriteString("commit", BuildInfo.Commit);
            w.WriteEndObject();
            w.WritePropertyName("grid");
            WriteGrid(w, Grid);
            w.WriteStartObject("shard");
            w.WriteNumber("index", Shard.Index);
            w.WriteNumber("count", Shard.Count);
            w.WriteNumber("first_cell", FirstCell);
            w.WriteNumber("end_cell", EndCell);
            w.WriteEndObject();
            w.WriteStartArray("trace_digests");
            foreach (var (t, refs, digest) in TraceDigests)
            {
                w.WriteStartObject();
                w.WriteNumber("trace", t);
                w.WriteNumber("references", refs);
                w.WriteString("digest", digest.ToString("x16", CultureInfo.InvariantCulture));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("cells");
            for (int i = 0; i < Rows.Count; i++)
            {
                IdealResult r = Rows[i].Result;
                w.WriteStartObject();
                w.WriteNumber("cell", FirstCell + i);
                w.WriteString("policy", r.Policy);
                w.WriteNumber("frames", r.Frames);
                w.WriteNumber("references", r.References);
                w.WriteNumber("hits", r.Hits);
                w.WriteNumber("cold_faults", r.ColdFaults);
                w.WriteNumber("capacity_faults", r.CapacityFaults);
                w.WriteNumber("evictions", r.Evictions);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>The grid as a JSON object (also the "grid" of the sweep's --json output).</summary>
    public static void WriteGrid(Utf8JsonWriter w, SweepGrid g)
    {
        w.WriteStartObject();
        w.WriteStartArray("traces");
        foreach (string t in g.Traces) w.WriteStringValue(t);
        w.WriteEndArray();
        if (g.TraceFormat is null) w.WriteNull("trace_format");
        else w.WriteString("trace_format", g.TraceFormat);
        w.WriteStartArray("policies");
        foreach (string p in g.Policies) w.WriteStringValue(p);
        w.WriteEndArray();
        w.WriteStartArray("frames");
        foreach (int f in g.Frames) w.WriteNumberValue(f);
        w.WriteEndArray();
        w.WriteNumber("seed", g.Seed);
        w.WriteBoolean("stack_distance", g.StackDistance);
        w.WriteNumber("cells", g.Cells);
        w.WriteEndObject();
    }

    /// <summary>Reads and checks one part; any problem is an <see cref="InputException"/> naming the file.</summary>
    public static SweepPart Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(path, 0, path, e is FileNotFoundException or DirectoryNotFoundException ? "part file not found" : "cannot read the part: " + e.Message);
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new InputException(path, e.LineNumber is { } l ? l + 1 : 0, path, "not a sweep part (invalid JSON: " + e.Message.Split(" Path:")[0] + ")");
        }
        using (doc)
        {
            var reader = new PartReader(path);
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out JsonElement fmt) || fmt.ValueKind != JsonValueKind.String || fmt.GetString() != Format)
                throw new InputException(path, 0, path, $"not a sweep part (no \"format\": \"{Format}\")");
            int version = root.TryGetProperty("schema", out _) ? reader.Int(root, "schema", 1, int.MaxValue) : reader.Int(root, "version", 1, int.MaxValue);
            if (version != Version)
                throw new InputException(path, 0, version.ToString(CultureInfo.InvariantCulture), $"sweep part version {version} is not supported (this ecsmem reads version {Version})");
            JsonElement g = reader.Object(root, "grid");
            var grid = new SweepGrid(
                reader.Strings(g, "traces"),
                reader.Get(g, "trace_format") is { ValueKind: JsonValueKind.String } tf ? tf.GetString() : null,
                reader.Strings(g, "policies"),
                reader.Array(g, "frames").Select(e => (int)reader.Value(e, "frames", 1, SweepCommand.MaxFrames)).ToArray(),
                reader.UInt64(g, "seed"),
                reader.Bool(g, "stack_distance"));
            if (grid.Traces.Count == 0 || grid.Policies.Count == 0 || grid.Frames.Count == 0)
                throw new InputException(path, 0, "grid", "the part's grid has no traces, policies or frames");
            if (reader.Long(g, "cells", 0, long.MaxValue) != grid.Cells)
                throw new InputException(path, 0, "cells", "the part's grid.cells is not traces × policies × frames");
            JsonElement s = reader.Object(root, "shard");
            int count = reader.Int(s, "count", 1, ShardSpec.MaxCount);
            var shard = new ShardSpec(reader.Int(s, "index", 0, count - 1), count);
            long first = reader.Long(s, "first_cell", 0, grid.Cells), end = reader.Long(s, "end_cell", first, grid.Cells);
            var digests = new List<(int, long, ulong)>();
            foreach (JsonElement d in reader.Array(root, "trace_digests"))
            {
                string hex = reader.String(d, "digest");
                if (!ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong digest))
                    throw new InputException(path, 0, hex, "trace_digests: digest is not a hexadecimal number");
                digests.Add((reader.Int(d, "trace", 0, grid.Traces.Count - 1), reader.Long(d, "references", 0, long.MaxValue), digest));
            }
            var rows = new List<SweepRow>();
            long expect = first;
            foreach (JsonElement c in reader.Array(root, "cells"))
            {
                long cell = reader.Long(c, "cell", 0, grid.Cells - 1);
                if (cell != expect)
                    throw new InputException(path, 0, cell.ToString(CultureInfo.InvariantCulture),
                        string.Create(CultureInfo.InvariantCulture, $"cells out of order: expected cell {expect} (the shard covers {first}..{end - 1})"));
                expect++;
                var (t, _, f) = grid.Locate(cell);
                int frames = reader.Int(c, "frames", 1, SweepCommand.MaxFrames);
                if (frames != grid.Frames[f])
                    throw new InputException(path, 0, frames.ToString(CultureInfo.InvariantCulture),
                        $"cell {grid.Name(cell)} has frames {frames}, not the grid's");
                rows.Add(new SweepRow(grid.Traces[t], new IdealResult(
                    reader.String(c, "policy"), frames,
                    reader.Long(c, "references", 0, long.MaxValue), reader.Long(c, "hits", 0, long.MaxValue),
                    reader.Long(c, "cold_faults", 0, long.MaxValue), reader.Long(c, "capacity_faults", 0, long.MaxValue),
                    reader.Long(c, "evictions", 0, long.MaxValue))));
            }
            if (expect != end)
                throw new InputException(path, 0, path, string.Create(CultureInfo.InvariantCulture,
                    $"the part holds {expect - first} cells but its shard covers {end - first} (cells {first}..{end - 1}): a truncated or edited part"));
            return new SweepPart
            {
                Grid = grid,
                Shard = shard,
                FirstCell = first,
                EndCell = end,
                Program = reader.String(reader.Object(root, "ecsmem"), "version"),
                TraceDigests = digests,
                Rows = rows,
            };
        }
    }

    /// <summary>Typed field access with errors that name the part file and the field.</summary>
    private sealed class PartReader(string path)
    {
        public JsonElement? Get(JsonElement o, string name) => o.TryGetProperty(name, out JsonElement v) ? v : null;

        private JsonElement Need(JsonElement o, string name) =>
            o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out JsonElement v) ? v : throw new InputException(path, 0, name, "sweep part lacks the field");

        public JsonElement Object(JsonElement o, string name) =>
            Need(o, name) is { ValueKind: JsonValueKind.Object } v ? v : throw new InputException(path, 0, name, "sweep part field is not an object");

        public JsonElement.ArrayEnumerator Array(JsonElement o, string name) =>
            Need(o, name) is { ValueKind: JsonValueKind.Array } v ? v.EnumerateArray() : throw new InputException(path, 0, name, "sweep part field is not an array");

        public string String(JsonElement o, string name) =>
            Need(o, name) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : throw new InputException(path, 0, name, "sweep part field is not a string");

        public string[] Strings(JsonElement o, string name) =>
            Array(o, name).Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new InputException(path, 0, name, "sweep part field is not a list of strings")).ToArray();

        public bool Bool(JsonElement o, string name) => Need(o, name).ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InputException(path, 0, name, "sweep part field is not true or false"),
        };

        public long Value(JsonElement v, string name, long min, long max) =>
            v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long x) && x >= min && x <= max
                ? x
                : throw new InputException(path, 0, v.GetRawText(), string.Create(CultureInfo.InvariantCulture, $"sweep part field {name} needs an integer from {min} to {max}"));

        public long Long(JsonElement o, string name, long min, long max) => Value(Need(o, name), name, min, max);

        public int Int(JsonElement o, string name, int min, int max) => (int)Long(o, name, min, max);

        public ulong UInt64(JsonElement o, string name) =>
            Need(o, name) is { ValueKind: JsonValueKind.Number } v && v.TryGetUInt64(out ulong x)
                ? x
                : throw new InputException(path, 0, name, "sweep part field needs an unsigned integer");
    }
}

/// <summary>The outputs a sweep and a merge write alike: the table, the CSV, the JSON and the plot.</summary>
public static class SweepOutputs
{
    /// <summary>Version of the sweep and merge --json layout (docs/schemas/sweep.schema.json).</summary>
    public const int JsonSchema = 1;

    /// <summary>The rows as JSON: the grid, the SHARDS settings when LRU was sampled, whether the sweep was cut short, and one object per row.</summary>
    public static byte[] Json(SweepGrid grid, IReadOnlyList<SweepRow> rows, bool partial, ShardsSettings? shards = null)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            Systems.Reporting.JsonContract.WriteHeader(w, JsonSchema);
            w.WriteString("mode", "sweep");
            w.WritePropertyName("grid");
            SweepPart.WriteGrid(w, grid);
            // The effective --shards-rate/--shards-size (only a one-process sweep samples, so parts never carry it).
            if (shards is not null)
            {
                w.WriteStartObject("shards");
                w.WriteNumber("rate", shards.Rate);
                w.WriteNumber("size", shards.Size);
                w.WriteEndObject();
            }
            w.WriteBoolean("partial", partial);
            w.WriteStartArray("rows");
            foreach (SweepRow row in rows)
            {
                IdealResult r = row.Result;
                w.WriteStartObject();
                w.WriteString("trace", row.Trace);
                w.WriteString("policy", r.Policy);
                w.WriteNumber("frames", r.Frames);
                w.WriteNumber("references", r.References);
                w.WriteNumber("hits", r.Hits);
                w.WriteNumber("faults", r.Faults);
                w.WriteNumber("cold_faults", r.ColdFaults);
                w.WriteNumber("capacity_faults", r.CapacityFaults);
                w.WriteNumber("evictions", r.Evictions);
                w.WriteNumber("fault_ratio", Math.Round(r.FaultRatio, 9));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>The output files of <c>-o PREFIX</c>: PREFIX.csv, PREFIX.json and PREFIX.png.</summary>
    public static (string Csv, string Json, string Plot) FromPrefix(string prefix) => (prefix + ".csv", prefix + ".json", prefix + ".png");

    /// <summary>Writes each output that was asked for, each atomically.</summary>
    public static void Write(SweepGrid grid, IReadOnlyList<SweepRow> rows, bool partial, string? csv, string? json, string? plot, bool logX = false, ShardsSettings? shards = null)
    {
        if (csv is not null)
            Systems.Reporting.ReportOutputFile.WriteText(csv, SweepCommand.Csv(rows));
        if (json is not null)
            Systems.Reporting.ReportOutputFile.WriteBytes(json, Json(grid, rows, partial, shards));
        if (plot is not null)
            SweepPlot.Write(plot, rows, grid.Traces.Count > 1, logX);
    }

    /// <summary>One line listing cell ranges ("3-7, 12"), at most <paramref name="most"/> ranges then "and N more".</summary>
    public static string Ranges(IReadOnlyList<long> cells, int most, Func<long, long, string>? describe = null)
    {
        var sb = new StringBuilder();
        int shown = 0, total = 0;
        for (int i = 0; i < cells.Count;)
        {
            int j = i;
            while (j + 1 < cells.Count && cells[j + 1] == cells[j] + 1) j++;
            total++;
            if (shown < most)
            {
                if (shown > 0) sb.Append(", ");
                sb.Append(cells[i].ToString(CultureInfo.InvariantCulture));
                if (j > i) sb.Append('-').Append(cells[j].ToString(CultureInfo.InvariantCulture));
                if (describe is not null) sb.Append(" (").Append(describe(cells[i], cells[j])).Append(')');
                shown++;
            }
            i = j + 1;
        }
        if (total > shown)
            sb.Append(CultureInfo.InvariantCulture, $" and {total - shown} more range(s)");
        return sb.ToString();
    }
}
