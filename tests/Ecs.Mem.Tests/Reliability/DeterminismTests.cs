using EcsMem.Scenarios;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// The batch size is a performance knob only (docs/scenarios.md): the same scenario must give the same run with
/// 1, 7 and 4096 accesses per tick. And a run is a function of its inputs and seed.
/// </summary>
public class DeterminismTests
{
    private static string Run(Scenario s, int? batch)
    {
        using var m = ScenarioLoader.Build(s, batch);
        m.Run();
        Assert.That(m.Finished, Is.True);
        return MachineDump.Of(m);
    }

    [TestCase("reduced-default")]
    [TestCase("fork-timeline")]
    [TestCase("swapping")]
    [TestCase("oom")]
    public void BatchSizeDoesNotChangeTheRun(string name)
    {
        Scenario s = ReliabilityScenarios.Parse(ReliabilityScenarios.All.Single(x => x.Name == name).Yaml);
        string big = Run(s, 4096);
        string seven = Run(s, 7);
        string one = Run(s, 1);
        Assert.That(FirstDifference(seven, big), Is.Null, "batch 7 vs 4096");
        Assert.That(FirstDifference(one, big), Is.Null, "batch 1 vs 4096");
        Assert.That(seven, Is.EqualTo(big));
        Assert.That(one, Is.EqualTo(big));
    }

    /// <summary>The first line where two dumps differ (both versions), or null when they are equal.</summary>
    internal static string? FirstDifference(string actual, string expected)
    {
        string[] a = actual.Split('\n'), e = expected.Split('\n');
        var diffs = new List<string>();
        for (int i = 0; i < Math.Max(a.Length, e.Length) && diffs.Count < 6; i++)
        {
            string x = i < a.Length ? a[i] : "<none>", y = i < e.Length ? e[i] : "<none>";
            if (x != y)
                diffs.Add($"line {i + 1}: got '{x}' expected '{y}'");
        }
        return diffs.Count == 0 ? null : string.Join("\n", diffs);
    }

    [Test]
    public void SameSeedSameRunDifferentSeedDifferentRun()
    {
        // The random replacement policy draws its victims from the machine seed.
        string Yaml(int seed) => ReliabilityScenarios.Swapping
            .Replace("seed: 3", $"seed: {seed}\n  policy: random", StringComparison.Ordinal);
        Assert.That(Yaml(1), Does.Contain("policy: random"));
        string a = Run(ReliabilityScenarios.Parse(Yaml(1)), null);
        string b = Run(ReliabilityScenarios.Parse(Yaml(1)), null);
        string c = Run(ReliabilityScenarios.Parse(Yaml(2)), null);
        Assert.That(b, Is.EqualTo(a));
        Assert.That(c, Is.Not.EqualTo(a));
    }

    [Test]
    public void GeneratorSeedChangesTheRun()
    {
        string a = Run(ReliabilityScenarios.Parse(ReliabilityScenarios.Swapping), null);
        string b = Run(ReliabilityScenarios.Parse(ReliabilityScenarios.Swapping.Replace("seed=1\"", "seed=99\"", StringComparison.Ordinal)), null);
        Assert.That(b, Is.Not.EqualTo(a));
    }

    [Test]
    public void DumpSeesTheWholeRun()
    {
        // A dump that left out the counters would make the batch-size test vacuous.
        using var m = ScenarioLoader.Build(ReliabilityScenarios.Parse(ReliabilityScenarios.Swapping));
        m.Run();
        string dump = MachineDump.Of(m);
        Assert.That(dump, Does.Contain("counter pswpout "));
        Assert.That(dump, Does.Contain("stats Accesses=12000 "));
        Assert.That(dump, Does.Contain("cache L1d ").Or.Contain("cache D1 ").Or.Contain("cache LL "));
        Assert.That(dump, Does.Contain("buddyinfo Node 0, zone   Normal"));
    }
}
