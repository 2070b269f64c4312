using System.Globalization;

namespace EcsMem.Tests.Reliability.Fuzz;

/// <summary>
/// Fuzzing as a habit: the committed corpus (tests/corpus/, seeds plus every input a fuzz run ever saved) is replayed
/// on every test run; <c>tests/fuzz.sh</c> (and CI) spends a time budget on fresh mutations through
/// <see cref="FreshMutations"/>.
/// </summary>
public class CorpusFuzzTests
{
    public static IEnumerable<string> Targets => FuzzTargets.Names;

    [TestCaseSource(nameof(Targets))]
    public void CorpusReplaysCleanlyOrWithOneInputException(string target)
    {
        string[] files = FuzzHarness.CorpusFiles(target);
        Assert.That(files, Is.Not.Empty, $"tests/corpus/{target} has seed inputs");
        var failures = new List<string>();
        int clean = 0;
        foreach (string file in files)
        {
            var (outcome, failure) = FuzzHarness.RunCase(target, file, File.ReadAllBytes(file));
            if (failure is not null)
                failures.Add($"{Path.GetFileName(file)}: {failure}");
            else if (outcome == FuzzOutcome.Clean)
                clean++;
        }
        Assert.That(failures, Is.Empty);
        // The seeds are valid inputs: if none reads cleanly the target is not reaching past the first check.
        Assert.That(clean, Is.GreaterThan(0));
    }

    /// <summary>
    /// Fresh mutations for ECSMEM_FUZZ_SECONDS (split over the targets), at most ECSMEM_FUZZ_CASES per target, from
    /// ECSMEM_FUZZ_SEED; failing inputs are saved into the corpus. Skipped unless ECSMEM_FUZZ_SECONDS is set
    /// (tests/fuzz.sh sets it).
    /// </summary>
    [Test]
    public void FreshMutations()
    {
        string? seconds = Environment.GetEnvironmentVariable("ECSMEM_FUZZ_SECONDS");
        if (string.IsNullOrEmpty(seconds))
            Assert.Ignore("fuzz mode only: set ECSMEM_FUZZ_SECONDS (see tests/fuzz.sh)");
        double total = double.Parse(seconds, CultureInfo.InvariantCulture);
        ulong seed = ulong.TryParse(Environment.GetEnvironmentVariable("ECSMEM_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong s) ? s : 1;
        string[] only = (Environment.GetEnvironmentVariable("ECSMEM_FUZZ_TARGETS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        string[] targets = only.Length > 0 ? only : FuzzTargets.Names;
        int maxCases = int.TryParse(Environment.GetEnvironmentVariable("ECSMEM_FUZZ_CASES"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int m) ? m : int.MaxValue;
        var budget = TimeSpan.FromSeconds(total / targets.Length);
        var failures = new List<string>();
        int cases = 0;
        for (int i = 0; i < targets.Length; i++)
        {
            var (n, f) = FuzzHarness.Fuzz(targets[i], budget, seed + (ulong)i, save: true, TestContext.Out, maxCases);
            cases += n;
            failures.AddRange(f);
        }
        TestContext.Out.WriteLine($"fuzz: {cases} cases, seed {seed}, {failures.Count} failures");
        Assert.That(failures, Is.Empty);
    }
}
