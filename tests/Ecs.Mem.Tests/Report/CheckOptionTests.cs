using EcsMem.Cli;

namespace EcsMem.Tests.Report;

public class CheckOptionTests
{
    [Test]
    public void CheckedRunPassesAndPrintsTheSameReportAsAnUncheckedOne()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ecsmem-check-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string yaml = Path.Combine(dir, "s.yaml");
            // Two processes over 48 pages each in 64 pages of RAM with swap: reclaim and swap-in happen.
            File.WriteAllText(yaml, """
                machine: {ram: 256K, swap: 1M, policy: clock, quantum: 50}
                processes:
                  - name: a
                    layout: {exec: {heap: 256K}}
                    workload: {generator: "uniform:count=3000,pages=48,writes=0.5,seed=3"}
                  - name: b
                    layout: {exec: {heap: 256K}}
                    workload: {generator: "loop:count=3000,pages=48,writes=0.3"}
                """);
            var (code, checkedOut, err) = Run("run", yaml, "--check");
            Assert.That(code, Is.EqualTo(0), err);
            Assert.That(err, Is.Empty);
            var (code2, plainOut, _) = Run("run", yaml);
            Assert.That(code2, Is.EqualTo(0));
            Assert.That(checkedOut, Is.EqualTo(plainOut));
            Assert.That(checkedOut, Does.Contain("pswpin"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
