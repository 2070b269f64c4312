namespace EcsMem.Tests.Report;

/// <summary><c>ecsmem maps FILE</c>: a real /proc/&lt;pid&gt;/maps imported into a simulated process and printed back.</summary>
public class MapsCommandTests
{
    private static string Sample => Path.Combine(Scenarios.ScenarioTestFiles.RepoRoot(), "samples", "maps", "dotnet-sdk.maps");

    [Test]
    public void RealMapsFileRoundTrips()
    {
        var (code, stdout, stderr) = ReportTestFiles.Run("maps", Sample);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Is.EqualTo(File.ReadAllText(Sample)));
    }

    [Test]
    public void StatusAddsUpTheImportedAreas()
    {
        using var f = new ReportTestFiles();
        // Three areas: 0x52000 bytes r-xp (328 kB of text), 0x2000 rw-p (8 kB of data), a 132 kB stack.
        string maps = f.Write("small.maps",
            "00400000-00452000 r-xp 00000000 08:02 173521                             /usr/bin/dbus-daemon\n" +
            "00651000-00653000 rw-p 00051000 08:02 173521                             /usr/bin/dbus-daemon\n" +
            "7ffc84894000-7ffc848b5000 rw-p 00000000 00:00 0                          [stack]\n");
        var (code, stdout, stderr) = ReportTestFiles.Run("maps", maps, "--status");
        Assert.That(code, Is.EqualTo(0), stderr);
        // VmSize = 328 + 8 + 132 = 468 kB; VmExe is 0 (no start_code/end_code in a maps file), so the
        // executable area counts as VmLib, as task_mem splits exec_vm; VmData is the private writable area;
        // VmStk the [stack] (VM_GROWSDOWN); nothing is resident yet.
        Assert.That(stdout, Does.Contain("VmSize:\t     468 kB\n"));
        Assert.That(stdout, Does.Contain("VmLib:\t     328 kB\n"));
        Assert.That(stdout, Does.Contain("VmData:\t       8 kB\n"));
        Assert.That(stdout, Does.Contain("VmStk:\t     132 kB\n"));
        Assert.That(stdout, Does.Contain("VmRSS:\t       0 kB\n"));
        Assert.That(stdout, Does.StartWith(File.ReadAllText(maps)));
    }
}
