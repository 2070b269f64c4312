using BenchmarkDotNet.Running;

namespace EcsMem.Perf;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project perf/Ecs.Mem.Perf -- --filter '*'</c>.
/// CI uses <c>--job dry</c> so every benchmark keeps compiling and running.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        // Benchmark processes inherit the environment: the big benchmarks shrink their data for a dry run.
        if (PerfScale.IsDryCommandLine(args))
            Environment.SetEnvironmentVariable(PerfScale.DryVariable, "1");
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
