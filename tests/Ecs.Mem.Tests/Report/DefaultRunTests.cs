using System.Diagnostics;
using System.Text.Json;

namespace EcsMem.Tests.Report;

/// <summary><c>ecsmem run</c> with no arguments: the embedded default scenario (1,000,000 accesses) to the end.</summary>
public class DefaultRunTests
{
    [Test]
    public void RunWithoutArgumentsCompletesTheDefaultScenario()
    {
        var clock = Stopwatch.StartNew();
        var (code, stdout, stderr) = ReportTestFiles.Run("run", "--json");
        clock.Stop();
        TestContext.Out.WriteLine($"ecsmem run (default scenario): {clock.Elapsed.TotalSeconds:F1} s wall");
        Assert.That(code, Is.EqualTo(0), stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("scenario").GetString(), Is.EqualTo("<default scenario>"));
        Assert.That(root.GetProperty("partial").GetBoolean(), Is.False);
        // default.yaml: 300000 + 200000 + 200000 + 100000 + 4 x 25000 + 100000 accesses.
        Assert.That(root.GetProperty("time").GetProperty("accesses").GetInt64(), Is.EqualTo(1_000_000));
        var procs = root.GetProperty("processes").EnumerateArray().ToArray();
        Assert.That(procs.Select(p => p.GetProperty("name").GetString()),
            Is.EqualTo(new[] { "database", "scanner", "matmul", "server", "chase", "server-1", "server-2", "server-3", "server-4" }));
        Assert.That(procs.Sum(p => p.GetProperty("accesses").GetInt64()), Is.EqualTo(1_000_000));
        Assert.That(procs.Select(p => p.GetProperty("state").GetString()), Has.All.EqualTo("exited"));
        // The per-process fault counts add up to the global ones.
        var vm = root.GetProperty("vmstat");
        Assert.That(procs.Sum(p => p.GetProperty("maj_flt").GetInt64()), Is.EqualTo(vm.GetProperty("pgmajfault").GetInt64()));
        Assert.That(procs.Sum(p => p.GetProperty("cow_copy").GetInt64()), Is.EqualTo(vm.GetProperty("ecsmem_cow_copy").GetInt64()));
        // The default scenario is sized to force swapping.
        Assert.That(vm.GetProperty("pswpout").GetInt64(), Is.GreaterThan(0));
        // Frames are either free or still used: nothing is lost (24M = 6144 frames).
        Assert.That(vm.GetProperty("nr_free_pages").GetInt64(), Is.InRange(0, 6144));
    }
}
