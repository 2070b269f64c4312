using System.Reflection;

namespace EcsMem.Diagnostics;

/// <summary>
/// Which ecsmem made an output: the version and the git commit it was built from. The commit is the
/// <c>+SHA</c> the SDK appends to the informational version (SourceRevisionId, set from git at build time by
/// Source Link); "unknown" when the build was not in a git checkout. Every JSON output carries both.
/// </summary>
public static class BuildInfo
{
    private static readonly string Informational =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The version, e.g. 0.1.0.</summary>
    public static string Version { get; } = Informational.Split('+')[0];

    /// <summary>The full commit id, or "unknown".</summary>
    public static string Commit { get; } = Informational.Split('+') is [_, { Length: > 0 } sha, ..] ? sha : "unknown";
}
