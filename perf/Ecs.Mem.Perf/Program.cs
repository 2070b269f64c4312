using BenchmarkDotNet.Running;

namespace EcsMem.Perf;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project perf/Ecs.Mem.Perf -- --filter '*'</c>.
/// CI uses <c>--job dry</c> so every benchmark keeps compiling and running.
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
