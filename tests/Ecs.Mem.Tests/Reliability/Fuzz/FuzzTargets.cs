using EcsMem.Diagnostics;
using EcsMem.Scenarios;
using EcsMem.Traces;

namespace EcsMem.Tests.Reliability.Fuzz;

/// <summary>What one fuzz case ended in: read or run to the end, or refused with one <see cref="InputException"/>.</summary>
internal enum FuzzOutcome
{
    Clean,
    Rejected,
}

/// <summary>
/// The fuzzed inputs, one per corpus directory (tests/corpus/&lt;name&gt;/): each trace reader over the bytes, the
/// gzip and zstd wrappers (the file name's first part names the format inside, e.g. <c>pages.gz</c>), and the
/// scenario parser followed by building the machine and running a few hundred incrementally checked ticks.
/// A target returns the outcome; any other exception escaping it is a crash.
/// </summary>
internal static class FuzzTargets
{
    // Host memory a scenario case may ask for: a mutation can turn 1M of RAM into 1G, valid but not small.
    private const long MaxRam = 64L << 20, MaxSwap = 256L << 20;
    private const int ScenarioTicks = 200;

    public static readonly string[] Names =
        ["lackey", "pinatrace", "pages", "binary", "champsim", "cloudsuite", "oraclegeneral", "csv", "auto", "gzip", "zstd", "xz", "scenario"];

    // The CSV target reads its corpus with a libCacheSim-style layout of three columns (id, size, op), no header.
    private const string CsvLayout = "csv:obj-id-col=1,obj-size-col=2,op-col=3,has-header=false";

    public static FuzzOutcome Run(string target, string fileName, byte[] input)
    {
        try
        {
            switch (target)
            {
                case "lackey" or "pinatrace" or "pages" or "binary" or "champsim" or "cloudsuite" or "oraclegeneral":
                    ReadAll(TraceFormats.Get(target).Reader!(new MemoryStream(input, writable: false), "fuzz"), input.Length);
                    break;
                case "csv":
                    ReadAll(TraceFormats.Get(CsvLayout).Reader!(new MemoryStream(input, writable: false), "fuzz"), input.Length);
                    break;
                case "auto":
                    // Detection reads the content (through the file path, as the CLI does), then the detected reader.
                    ReadCompressed("auto", input);
                    break;
                case "gzip" or "zstd" or "xz":
                    ReadCompressed(FormatOf(fileName), input);
                    break;
                case "scenario":
                    RunScenario(input);
                    break;
                default:
                    throw new ArgumentException($"unknown fuzz target {target}", nameof(target));
            }
            return FuzzOutcome.Clean;
        }
        catch (InputException)
        {
            return FuzzOutcome.Rejected;
        }
    }

    /// <summary>The trace format inside a compressed corpus file: its name up to the first '.' or '-'.</summary>
    public static string FormatOf(string fileName)
    {
        string name = Path.GetFileName(fileName);
        int end = name.IndexOfAny(['.', '-']);
        return end < 0 ? name : name[..end];
    }

    private static void ReadAll(ITraceReader reader, long inputBytes)
    {
        using (reader)
        {
            var buffer = new MemoryAccess[256];
            long n = 0;
            int got;
            while ((got = reader.Read(buffer)) > 0)
            {
                n += got;
                // A plain reader cannot produce more accesses than its input has bytes (the shortest record is "0\n").
                if (n > inputBytes + 1)
                    throw new FuzzFailure($"{n} accesses from {inputBytes} bytes");
            }
        }
    }

    private static void ReadCompressed(string format, byte[] input)
    {
        string path = Path.Combine(Path.GetTempPath(), $"ecsmem-fuzz-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, input);
        try
        {
            // Decompression can expand: bound by a generous ratio instead of the input size.
            ReadAll(TraceFormats.OpenReader(format, path, "fuzz"), Math.Max(1L << 20, input.Length * 1100L));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void RunScenario(byte[] input)
    {
        Scenario s = ScenarioParser.Parse(new StringReader(System.Text.Encoding.UTF8.GetString(input)), "fuzz.yaml");
        if (s.Machine.RamBytes > MaxRam || s.Machine.SwapBytes > MaxSwap)
            return; // valid, but not small enough for a fuzz case
        using var m = ScenarioLoader.Build(s);
        int ticks = 0;
        m.RunIncrementallyChecked(fullEvery: 50, stop: () => ++ticks >= ScenarioTicks);
    }
}

/// <summary>A fuzz case broke a rule other than "no unexpected exception" (too many accesses, too much memory, too slow).</summary>
internal sealed class FuzzFailure(string message) : Exception(message);
