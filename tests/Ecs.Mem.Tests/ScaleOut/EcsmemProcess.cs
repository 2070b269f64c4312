using System.Diagnostics;

namespace EcsMem.Tests.ScaleOut;

/// <summary>The built ecsmem and other programs run as child processes (working directory, environment, output).</summary>
internal static class EcsmemProcess
{
    public static string Dll => Path.Combine(TestContext.CurrentContext.TestDirectory, "ecsmem.dll");

    public static string DotNet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p ? p : "dotnet";

    /// <summary>The repository's root (the directory holding EcsMem.sln), found upwards from the test binaries.</summary>
    public static string RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "EcsMem.sln")))
                    return d.FullName;
            }
            throw new InvalidOperationException("EcsMem.sln not found above " + TestContext.CurrentContext.TestDirectory);
        }
    }

    /// <summary>Starts <paramref name="file"/> with SIGINT and SIGTERM at their defaults (env --default-signal).</summary>
    public static Process Start(string dir, IReadOnlyDictionary<string, string>? env, string file, params string[] args)
    {
        var psi = new ProcessStartInfo("env")
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--default-signal=INT,TERM");
        psi.ArgumentList.Add(file);
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        if (env is not null)
        {
            foreach (var (k, v) in env)
                psi.Environment[k] = v;
        }
        var p = Process.Start(psi)!;
        p.StandardInput.Close();
        return p;
    }

    /// <summary>Runs a program to its end (at most <paramref name="timeoutSeconds"/>): exit code, stdout, stderr.</summary>
    public static (int Code, string Out, string Err) Run(string dir, IReadOnlyDictionary<string, string>? env, int timeoutSeconds, string file, params string[] args)
    {
        using Process p = Start(dir, env, file, args);
        Task<string> o = p.StandardOutput.ReadToEndAsync(), e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not end within {timeoutSeconds} s");
        }
        p.WaitForExit();
        return (p.ExitCode, o.Result, e.Result);
    }

    /// <summary>Runs the built ecsmem.</summary>
    public static (int Code, string Out, string Err) Ecsmem(string dir, IReadOnlyDictionary<string, string>? env, params string[] args) =>
        Run(dir, env, 300, DotNet, [Dll, .. args]);
}
