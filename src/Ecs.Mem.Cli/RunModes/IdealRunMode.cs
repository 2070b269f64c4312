using System.Globalization;
using System.Text;
using System.Text.Json;
using EcsMem.Diagnostics;
using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;
using EcsMem.Traces;

namespace EcsMem.Cli.RunModes;

/// <summary>
/// <c>ecsmem run --ideal</c>: replays a page-reference trace against N frames under one replacement policy
/// (see docs/policies.md). The trace may be in any format, plain, gzip or zstd
/// (<see cref="TraceFormats.OpenReader"/>): the pages format gives page numbers directly, every other format
/// gives addresses, whose page is address &gt;&gt; 12. Everything is validated and the whole replay done before anything is written,
/// so an error never leaves a half-written report.
/// </summary>
public sealed class IdealRunMode : IRunMode
{
    public string? SelectorFlag => "--ideal";

    public IReadOnlyCollection<string> ValueOptions { get; } =
        ["--trace", "--trace-format", "--frames", "--policy", "--seed"];

    public IReadOnlyCollection<string> FlagOptions { get; } = ["--json"];

    public string Usage =>
        "  --ideal: page-replacement study (N frames, global replacement, one victim per fault)\n" +
        "    ecsmem run --ideal --trace FILE [--trace-format pages|lackey|pinatrace|binary] --frames N --policy NAME\n" +
        "                       [--seed S] [--json]   (plain, gzip or zstd; a binary trace is recognised by its header)\n" +
        "    Ctrl-C or SIGTERM: the counts so far, marked partial (exit 130 or 143)\n" +
        "    policies: " + string.Join(", ", PolicyRegistry.Names) + "\n";

    public int Run(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        string trace = cl.Get("--trace") ?? (cl.Positionals.Count == 1 ? cl.Positionals[0]
            : throw new InputException("command line", 0, "--trace", "'run --ideal' needs option --trace FILE"));
        if (cl.Get("--trace") is not null && cl.Positionals.Count > 0)
            throw new InputException("command line", 0, cl.Positionals[0], "unexpected argument (the trace is already given by --trace)");
        string? givenFormat = cl.Get("--trace-format")?.ToLowerInvariant();
        if (givenFormat is not null)
            TraceFormats.Get(givenFormat); // an unknown name is reported before anything else is read
        string framesText = cl.Get("--frames") ?? throw new InputException("command line", 0, "--frames", "'run --ideal' needs option --frames N");
        if (!int.TryParse(framesText, NumberStyles.None, CultureInfo.InvariantCulture, out int frames) || frames < 1 || frames > MaxFrames)
            throw new InputException("command line", 0, framesText, $"option --frames needs an integer from 1 to {MaxFrames}");
        string policyName = cl.Require("--policy");
        ulong seed = (ulong)cl.GetInt64("--seed", 1);
        IReplacementPolicy policy = PolicyRegistry.Create(policyName, new PolicyOptions(seed));
        if (!File.Exists(trace))
            throw new InputException("command line", 0, trace, "trace file not found");
        string format = givenFormat ?? TraceFormats.Detect(trace) ?? "pages";

        IdealResult result;
        try
        {
            using var reader = TraceFormats.OpenReader(format, trace);
            var sim = new IdealSimulator(frames, policy);
            sim.Run(reader, InterruptSignal.Token);
            result = sim.Result;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ZstdSharp.ZstdException)
        {
            throw new InputException(trace, 0, trace, "cannot read the trace: " + e.Message);
        }

        string name = policyName.ToLowerInvariant();
        // Ctrl-C or SIGTERM: the counts of the references replayed so far, marked partial.
        bool partial = InterruptSignal.Requested;
        stdout.Write(cl.Has("--json") ? Json(result, name, trace, format, seed, partial) : Text(result, name, trace, format, seed, partial));
        if (partial)
        {
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ecsmem: partial: interrupted by {InterruptSignal.SignalName} after {result.References} references"));
            return InterruptSignal.ExitCode;
        }
        return 0;
    }

    /// <summary>Frames are int-indexed arrays; 2^26 frames of 4 KiB is 256 GiB, far beyond any study.</summary>
    public const int MaxFrames = 1 << 26;

    private static string Text(IdealResult r, string policy, string trace, string format, ulong seed, bool partial)
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.Append("ideal-mode page replacement\n");
        sb.Append(ci, $"trace:           {trace} ({format})\n");
        sb.Append(ci, $"policy:          {policy}\n");
        sb.Append(ci, $"frames:          {r.Frames}\n");
        sb.Append(ci, $"seed:            {seed}\n");
        sb.Append(ci, $"references:      {r.References}\n");
        sb.Append(ci, $"hits:            {r.Hits}\n");
        sb.Append(ci, $"faults:          {r.Faults}\n");
        sb.Append(ci, $"  cold:          {r.ColdFaults}\n");
        sb.Append(ci, $"  capacity:      {r.CapacityFaults}\n");
        sb.Append(ci, $"evictions:       {r.Evictions}\n");
        sb.Append(ci, $"fault ratio:     {r.FaultRatio:F6}\n");
        if (partial)
            sb.Append(ci, $"status:          partial: interrupted by {InterruptSignal.SignalName} after {r.References} references\n");
        return sb.ToString();
    }

    private static string Json(IdealResult r, string policy, string trace, string format, ulong seed, bool partial)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("mode", "ideal");
            w.WriteString("trace", trace);
            w.WriteString("traceFormat", format);
            w.WriteString("policy", policy);
            w.WriteNumber("frames", r.Frames);
            w.WriteNumber("seed", seed);
            w.WriteNumber("references", r.References);
            w.WriteNumber("hits", r.Hits);
            w.WriteNumber("faults", r.Faults);
            w.WriteNumber("coldFaults", r.ColdFaults);
            w.WriteNumber("capacityFaults", r.CapacityFaults);
            w.WriteNumber("evictions", r.Evictions);
            w.WriteNumber("faultRatio", Math.Round(r.FaultRatio, 9));
            if (partial)
                w.WriteBoolean("partial", true); // only when interrupted, so a complete report is unchanged
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()).Replace("\r\n", "\n") + "\n";
    }
}
