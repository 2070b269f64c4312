using System.Globalization;
using EcsMem.Scenarios;
using Workload = EcsMem.Scenarios.Workload;

namespace EcsMem.Tests.Scenarios;

public class DefaultScenarioTests
{
    [Test]
    public void EmbeddedScenarioParsesWithTheIntendedShape()
    {
        var s = DefaultScenario.Load();
        Assert.That(s.SourceName, Is.EqualTo(DefaultScenario.SourceName));
        Assert.That(s.Machine.RamBytes, Is.EqualTo(24L << 20));
        Assert.That(s.Machine.SwapBytes, Is.EqualTo(96L << 20));
        Assert.That(s.Machine.Policy.Name, Is.EqualTo(ReplacementPolicyConfig.DefaultName));
        Assert.That(s.Processes.Select(p => p.Name), Is.EqualTo(new[] { "database", "scanner", "matmul", "server", "chase" }));
        Assert.That(s.Processes.Select(p => ((GeneratorWorkload)p.Workload).Kind), Is.EqualTo(new[] { "zipf", "seq", "matmul", "loop", "chase" }));
        Assert.That(s.Processes[3].Children!.Count, Is.EqualTo(4));
        Assert.That(s.Timeline.Select(e => e.Process), Is.EqualTo(new[] { "scanner", "database", "scanner", "server-1", "server-2" }));
    }

    [Test]
    public void TotalAccessesAreOneMillion()
    {
        // Independent count: sum every generator's count= key, children counted once per child.
        var s = DefaultScenario.Load();
        long total = 0;
        foreach (var p in s.Processes)
        {
            total += CountOf(p.Workload);
            if (p.Children is { } c && c.Workload is { } w)
                total += c.Count * CountOf(w);
        }
        foreach (var e in s.Timeline)
            if (e.Op is ForkOp { Workload: { } fw })
                total += CountOf(fw);
        // 300000 + 200000 + 200000 + 100000 + 4 × 25000 + 100000
        Assert.That(total, Is.EqualTo(1_000_000));
    }

    [Test]
    public void WorkingSetsExceedRamButFitRamPlusSwap()
    {
        // pages= is the footprint of each generator; the server children's writes copy at most their pages.
        var s = DefaultScenario.Load();
        long anonPages = 0;
        foreach (var p in s.Processes)
        {
            if (p.Name == "scanner")
                continue; // file-backed: reclaimed by dropping clean page-cache pages, not by swapping
            anonPages += KeyOf(p.Workload, "pages") ?? 0;
            if (p.Children is { Workload: { } w } c)
                anonPages += c.Count * KeyOf(w, "pages")!.Value;
        }
        long pageSize = s.Machine.PageSize;
        // 12288 + 2048 + 4 × 1024 + 4096 = 22528 pages = 88 MiB (matmul's 1.5 MiB has no pages= key).
        Assert.That(anonPages, Is.EqualTo(22528));
        Assert.That(anonPages * pageSize, Is.GreaterThan(s.Machine.RamBytes));
        Assert.That(anonPages * pageSize, Is.LessThan(s.Machine.RamBytes + s.Machine.SwapBytes));
    }

    [Test]
    public void YamlTextIsTheEmbeddedFile()
    {
        string onDisk = File.ReadAllText(Path.Combine(ScenarioTestFiles.RepoRoot(), "src", "Ecs.Mem", "Scenarios", "default.yaml"));
        Assert.That(DefaultScenario.Yaml, Is.EqualTo(onDisk));
    }

    private static long CountOf(Workload w) => KeyOf(w, "count") ?? throw new AssertionException($"no count= in {w}");

    private static long? KeyOf(Workload w, string key)
    {
        string spec = ((GeneratorWorkload)w).Spec;
        foreach (string part in spec[(spec.IndexOf(':') + 1)..].Split(','))
        {
            string[] kv = part.Split('=');
            if (kv[0] == key)
                return long.Parse(kv[1], CultureInfo.InvariantCulture);
        }
        return null;
    }
}
