namespace EcsMem.Perf;

/// <summary>
/// Sizes of the large benchmarks. CI runs every benchmark once with <c>--job dry</c> only to prove it still
/// works, so <see cref="Program"/> sets <see cref="DryVariable"/> for such runs (child benchmark processes
/// inherit it) and the big traces shrink 100-fold; OperationsPerInvoke stays the full size, so dry-run
/// timings are meaningless, as dry-run timings always are.
/// </summary>
public static class PerfScale
{
    public const string DryVariable = "ECSMEM_PERF_DRY";

    public static bool Dry => Environment.GetEnvironmentVariable(DryVariable) == "1";

    /// <summary><paramref name="full"/>, or a hundredth of it (at least 1000) in a dry run.</summary>
    public static long Scaled(long full) => Dry ? Math.Max(1000, full / 100) : full;

    /// <summary>True when the command line asks for BenchmarkDotNet's dry job (<c>--job dry</c>, <c>-j Dry</c>).</summary>
    public static bool IsDryCommandLine(IReadOnlyList<string> args)
    {
        for (int i = 0; i + 1 < args.Count; i++)
            if (args[i] is "--job" or "-j" && args[i + 1].Equals("dry", StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }
}
