using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace EcsMem.Tests.ScaleOut;

/// <summary>
/// A sharded sweep on a real Slurm: Debian's slurmctld, slurmd and munged, configured by tests/slurm/cluster.sh as
/// a one-node cluster on localhost with its configuration, state, logs and munge key in a directory this fixture
/// owns and on free ports, started once for the fixture and always stopped in <see cref="StopCluster"/>. Skipped
/// (with the reason) only where Slurm is not installed; CI installs it (.ci/run).
/// </summary>
[NonParallelizable]
[Category("Slurm")]
public partial class SlurmClusterTests
{
    private string _cluster = "";
    private string _work = "";
    private Dictionary<string, string> _env = new();
    private bool _started;

    private static string? Which(string name) =>
        new[] { "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin" }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [OneTimeSetUp]
    public void StartCluster()
    {
        string[] missing = new[] { "slurmctld", "slurmd", "munged", "sbatch", "scontrol", "scancel", "sinfo" }.Where(b => Which(b) is null).ToArray();
        if (missing.Length > 0)
            Assert.Ignore($"Slurm is not installed here (no {string.Join(", ", missing)}): apt-get install -y slurm-wlm munge");
        if (Environment.UserName != "root")
            Assert.Ignore("the test cluster's slurmd runs jobs as their user and needs root, as in CI");
        _cluster = Path.Combine(Path.GetTempPath(), "ecsmem-slurm-" + Guid.NewGuid().ToString("N")[..12]);
        _work = Path.Combine(_cluster, "work");
        Directory.CreateDirectory(_work);
        int ctld = FreePort(), slurmd = FreePort();
        while (slurmd == ctld) slurmd = FreePort();
        var startEnv = new Dictionary<string, string>
        {
            ["ECSMEM_SLURMCTLD_PORT"] = ctld.ToString(),
            ["ECSMEM_SLURMD_PORT"] = slurmd.ToString(),
        };
        _started = true; // from here on, StopCluster stops whatever did start
        var r = EcsmemProcess.Run(_cluster, startEnv, 120, "bash", Path.Combine(EcsmemProcess.RepoRoot, "tests", "slurm", "cluster.sh"), "start", _cluster);
        Assert.That(r.Code, Is.Zero, $"cluster.sh start failed:\n{r.Out}\n{r.Err}\n{Logs()}");
        _env = new Dictionary<string, string> { ["SLURM_CONF"] = Path.Combine(_cluster, "slurm.conf") };
    }

    [OneTimeTearDown]
    public void StopCluster()
    {
        if (!_started)
            return;
        var r = EcsmemProcess.Run(_cluster, null, 120, "bash", Path.Combine(EcsmemProcess.RepoRoot, "tests", "slurm", "cluster.sh"), "stop", _cluster);
        try
        {
            Directory.Delete(_cluster, recursive: true);
        }
        catch (IOException)
        {
        }
        Assert.That(r.Code, Is.Zero, "cluster.sh stop: " + r.Err);
    }

    private string Logs()
    {
        string dir = Path.Combine(_cluster, "log");
        return Directory.Exists(dir)
            ? string.Join("\n", Directory.GetFiles(dir).Select(f => $"== {f}\n{string.Join("\n", File.ReadAllLines(f).TakeLast(15))}"))
            : "";
    }

    private (int Code, string Out, string Err) Ecsmem(string dir, params string[] args) => EcsmemProcess.Ecsmem(dir, _env, args);

    private (int Code, string Out, string Err) Slurm(string command, params string[] args) =>
        EcsmemProcess.Run(_work, _env, 60, Which(command)!, args);

    /// <summary>The job's scontrol fields (JobState, Reason, ExitCode ...), one job by id.</summary>
    private Dictionary<string, string> Job(string id) => Jobs(id)[0];

    /// <summary>Task <paramref name="task"/> of array job <paramref name="arrayId"/> (found by ArrayTaskId in the array's listing).</summary>
    private Dictionary<string, string> ArrayTask(string arrayId, int task) =>
        Jobs(arrayId).Single(j => j.GetValueOrDefault("ArrayTaskId") == task.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>scontrol's records of a job id: one per task for an array job.</summary>
    private List<Dictionary<string, string>> Jobs(string id)
    {
        var r = Slurm("scontrol", "show", "job", "-o", id);
        Assert.That(r.Code, Is.Zero, r.Err);
        return r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => FieldPattern().Matches(line).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value)).ToList();
    }

    /// <summary>Waits until no task of <paramref name="id"/> is pending or running (squeue lists none).</summary>
    private void WaitUntilGone(string id, int seconds)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var q = Slurm("squeue", "-h", "-j", id, "-o", "%i %T");
            if (q.Code == 0 && q.Out.Trim().Length == 0)
                return;
            Thread.Sleep(500);
        }
        Assert.Fail($"job {id} still queued after {seconds} s:\n{Slurm("squeue").Out}\n{Logs()}");
    }

    private string Gen(string dir, string spec, string file)
    {
        var r = Ecsmem(dir, "gen", spec, "--format", "pages", "--out", file);
        Assert.That(r.Code, Is.Zero, r.Err);
        return file;
    }

    [Test]
    public void SweepAsAJobArrayPlusMergeJobEqualsTheLocalSweep()
    {
        string dir = Path.Combine(_work, "array");
        Directory.CreateDirectory(dir);
        Gen(dir, "zipf:count=30000,pages=1200,alpha=0.9,seed=5", "z.pages");
        Gen(dir, "loop:count=10000,pages=400", "l.pages");
        string[] grid = ["z.pages", "l.pages", "--frames", "100:600:100", "--policies", "lru,fifo,arc,opt"];
        var local = Ecsmem(dir, ["sweep", .. grid, "-o", "local"]);
        Assert.That(local.Code, Is.Zero, local.Err);

        var sub = Ecsmem(dir, ["sweep", .. grid, "--slurm", "job", "--shards", "6", "--time", "10", "--submit"]);
        Assert.That(sub.Code, Is.Zero, sub.Err);
        string arrayId = IdPattern("sweep job").Match(sub.Out).Groups[1].Value;
        string mergeId = IdPattern("merge job").Match(sub.Out).Groups[1].Value;
        Assert.That(arrayId, Is.Not.Empty, sub.Out);
        Assert.That(mergeId, Is.Not.Empty, sub.Out);
        var waiting = Job(mergeId);
        if (waiting["JobState"] == "PENDING")
            Assert.That(waiting["Dependency"], Does.Contain("afterok:" + arrayId));

        WaitUntilGone(arrayId, 300);
        WaitUntilGone(mergeId, 120);
        var merge = Job(mergeId);
        Assert.That(merge["JobState"], Is.EqualTo("COMPLETED"), $"{File.ReadAllText(Path.Combine(dir, "job", "logs", "merge.out"))}\n{Logs()}");
        for (int task = 0; task < 6; task++)
            Assert.That(ArrayTask(arrayId, task)["JobState"], Is.EqualTo("COMPLETED"), $"task {task}");
        Assert.That(Directory.GetFiles(Path.Combine(dir, "job", "parts")).Select(Path.GetFileName).Order(),
            Is.EqualTo(Enumerable.Range(0, 6).Select(i => $"part-{i}.json")));
        foreach (string ext in new[] { "csv", "json", "png" })
            Assert.That(File.ReadAllBytes(Path.Combine(dir, "job", "sweep." + ext)), Is.EqualTo(File.ReadAllBytes(Path.Combine(dir, "local." + ext))), ext);
        // The merge job's log holds the table the local sweep printed.
        Assert.That(File.ReadAllText(Path.Combine(dir, "job", "logs", "merge.out")), Does.StartWith(local.Out).And.EndWith("merge: 6 part(s), 48 results\n"));
    }

    [Test]
    public void ACancelledTaskMakesMergeNameItsMissingCells()
    {
        string dir = Path.Combine(_work, "cancel");
        Directory.CreateDirectory(dir);
        Gen(dir, "zipf:count=5000,pages=300,alpha=0.7,seed=9", "t.pages");
        // 1 trace × 2 policies × 12 frame counts = 24 cells; 4 shards of 6: shard 2 is cells 12..17 (fifo, 10..60).
        string[] grid = ["t.pages", "--frames", "10:120:10", "--policies", "lru,fifo"];
        var gen = Ecsmem(dir, ["sweep", .. grid, "--slurm", "job", "--shards", "4"]);
        Assert.That(gen.Code, Is.Zero, gen.Err);
        // Held, so task 2 can be cancelled before it runs; the merge job waits for the array (afterok).
        var held = Slurm("sbatch", "--parsable", "--hold", Path.Combine(dir, "job", "sweep.sbatch"));
        Assert.That(held.Code, Is.Zero, held.Err);
        string arrayId = held.Out.Trim().Split(';')[0];
        var merge = Slurm("sbatch", "--parsable", "--dependency=afterok:" + arrayId, Path.Combine(dir, "job", "merge.sbatch"));
        Assert.That(merge.Code, Is.Zero, merge.Err);
        string mergeId = merge.Out.Trim().Split(';')[0];
        Assert.That(Slurm("scancel", $"{arrayId}_2").Code, Is.Zero);
        Assert.That(Slurm("scontrol", "release", arrayId).Code, Is.Zero);
        WaitUntilGone(arrayId, 300);

        // Tasks 0, 1 and 3 ran; task 2, cancelled while pending, never became a job of its own.
        Assert.That(Jobs(arrayId).Select(j => (j["ArrayTaskId"], j["JobState"])).Order(),
            Is.EqualTo(new[] { ("0", "COMPLETED"), ("1", "COMPLETED"), ("3", "COMPLETED") }));
        // afterok can never be met now: the merge job is not run.
        // (the controller notices at its next dependency check)
        var mergeJob = Job(mergeId);
        for (var clock = Stopwatch.StartNew(); mergeJob["Reason"] == "Dependency" && clock.Elapsed.TotalSeconds < 60; mergeJob = Job(mergeId))
            Thread.Sleep(500);
        Assert.That(mergeJob["JobState"], Is.EqualTo("PENDING"));
        Assert.That(mergeJob["Reason"], Is.EqualTo("DependencyNeverSatisfied"));
        Assert.That(Slurm("scancel", mergeId).Code, Is.Zero);

        string[] parts = Directory.GetFiles(Path.Combine(dir, "job", "parts")).Order().ToArray();
        Assert.That(parts.Select(Path.GetFileName), Is.EqualTo(new[] { "part-0.json", "part-1.json", "part-3.json" }));
        var r = Ecsmem(dir, ["merge", .. parts, "-o", "merged"]);
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("6 missing cell(s): 12-17 (shard 2/4: t.pages fifo 10 .. t.pages fifo 60)"));
        Assert.That(File.Exists(Path.Combine(dir, "merged.csv")), Is.False);
    }

    [Test]
    public void ScancelOfARunningShardLeavesNoHalfWrittenPart()
    {
        string dir = Path.Combine(_work, "term");
        Directory.CreateDirectory(dir);
        var g = Ecsmem(dir, "gen", "zipf:count=1000000,pages=20000,alpha=0.9", "--format", "binary", "--out", "big.bin");
        Assert.That(g.Code, Is.Zero, g.Err);
        // 20,000 FIFO replays of a million references per shard: the tasks run until cancelled.
        var sub = Ecsmem(dir, "sweep", "big.bin", "--frames", "1:40000:1", "--policies", "fifo", "--slurm", "job", "--shards", "2", "--submit");
        Assert.That(sub.Code, Is.Zero, sub.Err);
        string arrayId = IdPattern("sweep job").Match(sub.Out).Groups[1].Value;
        string mergeId = IdPattern("merge job").Match(sub.Out).Groups[1].Value;
        string log = Path.Combine(dir, "job", "logs", "shard-0.out");
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(log) && File.ReadAllText(log).Contains("sweep: shard 0/2", StringComparison.Ordinal)) && clock.Elapsed.TotalSeconds < 120)
            Thread.Sleep(200);
        Assert.That(ArrayTask(arrayId, 0)["JobState"], Is.EqualTo("RUNNING"), Logs());
        Thread.Sleep(2500); // past loading the trace: replaying
        // scancel sends SIGTERM to the task (SIGKILL follows KillWait = 5 s later, if it were still running).
        Assert.That(Slurm("scancel", $"{arrayId}_0").Code, Is.Zero);
        WaitUntilGone($"{arrayId}_0", 120);
        Assert.That(Slurm("scancel", arrayId, mergeId).Code, Is.Zero);
        WaitUntilGone(arrayId, 120);

        var task = ArrayTask(arrayId, 0);
        Assert.That(task["JobState"], Is.EqualTo("CANCELLED"));
        Assert.That(task["ExitCode"], Is.EqualTo("143:0"), "ecsmem's own exit after SIGTERM, not a kill");
        Assert.That(File.ReadAllText(log), Does.Contain("interrupted by SIGTERM").And.Contain("no part written"));
        Assert.That(Directory.GetFileSystemEntries(Path.Combine(dir, "job", "parts")), Is.Empty, "no part, whole or half, and no temporary file");
    }

    [GeneratedRegex(@"(\w+)=(\S*)")]
    private static partial Regex FieldPattern();

    private static Regex IdPattern(string what) => new(Regex.Escape(what) + @": (\d+)");
}
