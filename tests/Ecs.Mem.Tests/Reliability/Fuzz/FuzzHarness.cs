using System.Diagnostics;
using System.Security.Cryptography;

namespace EcsMem.Tests.Reliability.Fuzz;

/// <summary>
/// The seeded mutation fuzzer around <see cref="FuzzTargets"/>: replays the committed corpus (tests/corpus/), and
/// spends a time budget on fresh mutations of it (<see cref="InputMutator"/>), saving every input that crashes,
/// hangs or allocates too much into the corpus, where the replay test keeps it from coming back.
/// Rules for every case: the outcome is a clean read/run or one InputException; no other exception; done
/// within <see cref="CaseTimeout"/>; at most <see cref="MaxAllocatedPerCase"/> bytes allocated.
/// </summary>
internal static class FuzzHarness
{
    public static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(10);
    public const long MaxAllocatedPerCase = 500L << 20;

    /// <summary>tests/corpus in the source tree (ECSMEM_CORPUS overrides), found from the test binary upwards.</summary>
    public static string CorpusRoot()
    {
        if (Environment.GetEnvironmentVariable("ECSMEM_CORPUS") is { Length: > 0 } env)
            return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "corpus");
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new DirectoryNotFoundException("tests/corpus not found above " + AppContext.BaseDirectory);
    }

    public static string[] CorpusFiles(string target) =>
        Directory.GetFiles(Path.Combine(CorpusRoot(), target)).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Runs one case under the rules; returns its outcome, or the reason it broke them.</summary>
    public static (FuzzOutcome Outcome, string? Failure) RunCase(string target, string fileName, byte[] input)
    {
        long allocated = 0;
        var task = Task.Run(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                return FuzzTargets.Run(target, fileName, input);
            }
            finally
            {
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
        });
        try
        {
            if (!task.Wait(CaseTimeout))
                return (default, $"hang: no result after {CaseTimeout.TotalSeconds} s");
        }
        catch (AggregateException e)
        {
            Exception inner = e.InnerException!;
            return (default, inner is FuzzFailure ? inner.Message : $"{inner.GetType().Name}: {inner.Message}\n{inner.StackTrace}");
        }
        if (allocated > MaxAllocatedPerCase)
            return (default, $"allocated {allocated} bytes");
        return (task.Result, null);
    }

    /// <summary>
    /// Mutates the corpus of <paramref name="target"/> for <paramref name="budget"/> or <paramref name="maxCases"/>
    /// cases, whichever ends first, from <paramref name="seed"/>; every failing input is saved (when
    /// <paramref name="save"/>) as tests/corpus/&lt;target&gt;/crash-&lt;hash&gt;. Case i depends only on the seed, the
    /// corpus and i, so a run with a case cap replays a prefix of any longer run with the same seed (CI caps its
    /// cases, and the same cap can be run beforehand with more time). Returns the cases run and the failures.
    /// </summary>
    public static (int Cases, List<string> Failures) Fuzz(string target, TimeSpan budget, ulong seed, bool save, TextWriter log, int maxCases = int.MaxValue)
    {
        string[] files = CorpusFiles(target);
        byte[][] seeds = files.Select(File.ReadAllBytes).ToArray();
        var rng = new ReliabilityRng(seed);
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        int cases = 0, clean = 0, rejected = 0;
        while (clock.Elapsed < budget && failures.Count < 5 && cases < maxCases)
        {
            int pick = rng.Below(seeds.Length);
            byte[] input = rng.Chance(3) ? InputMutator.RandomBytes(ref rng, 300)
                : target == "scenario" && rng.Chance(50) ? ReplaceANumber(seeds[pick], ref rng)
                : InputMutator.Mutate(seeds[pick], ref rng);
            if (rng.Chance(30))
                input = InputMutator.Mutate(input, ref rng); // stacked mutations reach further
            cases++;
            var (outcome, failure) = RunCase(target, files[pick], input);
            if (failure is null)
            {
                if (outcome == FuzzOutcome.Clean) clean++;
                else rejected++;
                continue;
            }
            string saved = save ? Save(target, files[pick], input) : "(not saved)";
            failures.Add($"{target} case {cases} (seed {seed}): {failure}\n  input saved as {saved}\n  base64: {Convert.ToBase64String(input)}");
            if (failure.StartsWith("hang", StringComparison.Ordinal))
                break; // the hung case still holds a thread
        }
        log.WriteLine($"fuzz {target}: {cases} cases in {clock.Elapsed.TotalSeconds:F1} s ({clean} clean, {rejected} rejected, {failures.Count} failures)");
        return (cases, failures);
    }

    private static readonly string[] OddNumbers = ["0", "1", "3", "4097", "65536", "4294967296", "18446744073709551615", "99999999999999999999", "-1", "0.5"];

    /// <summary>One number of a text input replaced by an odd one: the YAML stays valid, so the value reaches the loader and the kernel.</summary>
    private static byte[] ReplaceANumber(byte[] input, ref ReliabilityRng rng)
    {
        string text = System.Text.Encoding.UTF8.GetString(input);
        var numbers = System.Text.RegularExpressions.Regex.Matches(text, "[0-9]+");
        if (numbers.Count == 0)
            return input;
        var m = numbers[rng.Below(numbers.Count)];
        return System.Text.Encoding.UTF8.GetBytes(text[..m.Index] + OddNumbers[rng.Below(OddNumbers.Length)] + text[(m.Index + m.Length)..]);
    }

    private static string Save(string target, string seedFile, byte[] input)
    {
        string hash = Convert.ToHexStringLower(SHA256.HashData(input))[..12];
        // A compressed input keeps its inner format first in the name, as the target reads it from there.
        string prefix = target is "gzip" or "zstd" ? FuzzTargets.FormatOf(seedFile) + "-" : "";
        string path = Path.Combine(CorpusRoot(), target, $"{prefix}crash-{hash}");
        File.WriteAllBytes(path, input);
        return path;
    }
}
