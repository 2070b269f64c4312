using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EcsMem.Tests.ScaleOut;

/// <summary>
/// The shard contract through the real process, without a cluster: the scripts 'sweep --slurm' writes, run by
/// bash with the variables Slurm would set, give the unsharded sweep's outputs; SIGTERM to a running shard ends it
/// with 143 and no part (neither whole nor half-written) on disk.
/// </summary>
[NonParallelizable]
public class ShardProcessTests
{
    private string _dir = "";

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int sig);

    [SetUp]
    public void MakeDir()
    {
        _dir = Path.Combine(Path.GetTempPath(), "ecsmem-shardproc-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void Clean() => Directory.Delete(_dir, recursive: true);

    private (int Code, string Out, string Err) Ecsmem(params string[] args) => EcsmemProcess.Ecsmem(_dir, null, args);

    [Test]
    public void SlurmScriptsRunAsAnArrayByHandGiveTheUnshardedSweep()
    {
        Assert.That(Ecsmem("gen", "zipf:count=20000,pages=800,alpha=0.8,seed=3", "--format", "pages", "--out", "z.pages").Code, Is.Zero);
        Assert.That(Ecsmem("gen", "loop:count=5000,pages=300", "--format", "pages", "--out", "s.pages").Code, Is.Zero);
        string[] grid = ["z.pages", "s.pages", "--frames", "50:400:50", "--policies", "lru,clock,opt"];
        var whole = Ecsmem(["sweep", .. grid, "-o", "whole"]);
        Assert.That(whole.Code, Is.Zero, whole.Err);
        var gen = Ecsmem(["sweep", .. grid, "--slurm", "job", "--shards", "5", "--partition", "short", "--time", "0:10:00", "--mem", "2G", "--cpus", "2"]);
        Assert.That(gen.Code, Is.Zero, gen.Err);
        string sweep = File.ReadAllText(Path.Combine(_dir, "job", "sweep.sbatch"));
        string merge = File.ReadAllText(Path.Combine(_dir, "job", "merge.sbatch"));
        Assert.That(sweep, Does.Contain("#SBATCH --array=0-4\n").And.Contain("#SBATCH --partition=short\n")
            .And.Contain("#SBATCH --time=0:10:00\n").And.Contain("#SBATCH --mem=2G\n").And.Contain("#SBATCH --cpus-per-task=2\n")
            .And.Contain("--shard \"$SLURM_ARRAY_TASK_ID\"/5 --part"));
        Assert.That(merge, Does.Contain(" merge ").And.Contain("sweep.csv").And.Not.Contain("--array"));

        // What Slurm does with the array: each task runs the script with its SLURM_ARRAY_* variables.
        for (int task = 4; task >= 0; task--)
        {
            var env = new Dictionary<string, string>
            {
                ["SLURM_ARRAY_TASK_ID"] = task.ToString(),
                ["SLURM_ARRAY_TASK_COUNT"] = "5",
                ["SLURM_ARRAY_TASK_MIN"] = "0",
                ["SLURM_ARRAY_TASK_MAX"] = "4",
                ["SLURM_ARRAY_TASK_STEP"] = "1",
                ["SLURM_CPUS_PER_TASK"] = "2",
            };
            var r = EcsmemProcess.Run(_dir, env, 300, "bash", "job/sweep.sbatch");
            Assert.That(r.Code, Is.Zero, r.Err);
            Assert.That(r.Err, Does.Contain($"shard {task}/5"));
        }
        var m = EcsmemProcess.Run(_dir, null, 300, "bash", "job/merge.sbatch");
        Assert.That(m.Code, Is.Zero, m.Err);
        Assert.That(m.Out, Is.EqualTo(whole.Out));
        foreach (string ext in new[] { "csv", "json", "png" })
            Assert.That(File.ReadAllBytes(Path.Combine(_dir, "job", "sweep." + ext)), Is.EqualTo(File.ReadAllBytes(Path.Combine(_dir, "whole." + ext))), ext);
    }

    [Test]
    public void SigtermToARunningShardLeavesNoPart()
    {
        Assert.That(Ecsmem("gen", "zipf:count=1000000,pages=20000,alpha=0.9", "--format", "binary", "--out", "big.bin").Code, Is.Zero);
        Directory.CreateDirectory(Path.Combine(_dir, "parts"));
        // 20,000 FIFO replays of a million references: far longer than the test waits.
        using Process p = EcsmemProcess.Start(_dir, null, EcsmemProcess.DotNet, EcsmemProcess.Dll, "sweep", "big.bin",
            "--frames", "1:20000:1", "--policies", "fifo", "--threads", "1", "--shard", "0/2", "--part", "parts/part-0.json");
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        // The shard line comes after the signal handlers are installed and before the trace loads; loading a
        // million references takes well under the wait after it, so the replay is under way when the signal comes.
        string? first = p.StandardError.ReadLine();
        Assert.That(first, Does.StartWith("sweep: shard 0/2: cells 0..9999 of 20000"));
        Task<string> err = p.StandardError.ReadToEndAsync();
        Thread.Sleep(2000);
        Assert.That(p.HasExited, Is.False, "the shard ended before the signal");
        Assert.That(Kill(p.Id, 15), Is.Zero);
        Assert.That(p.WaitForExit(60_000), Is.True, "no exit within 60 s of SIGTERM");
        Assert.That(p.ExitCode, Is.EqualTo(143), err.Result);
        Assert.That(err.Result, Does.Contain("interrupted by SIGTERM").And.Contain("no part written"));
        Assert.That(Directory.GetFileSystemEntries(Path.Combine(_dir, "parts")), Is.Empty, "no part and no temporary file");
        _ = output.Result;
    }
}
