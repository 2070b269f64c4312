using EcsMem.Scenarios;

namespace EcsMem.Tests.Scenarios;

/// <summary>Helpers shared by the scenario tests.</summary>
internal static class ScenarioTestFiles
{
    public const string Source = "test.yaml";

    public static Scenario Parse(string yaml) => ScenarioParser.Parse(new StringReader(yaml), Source);

    /// <summary>The repository root, found by walking up from the test binaries to EcsMem.sln.</summary>
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EcsMem.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("EcsMem.sln not found above the test directory");
    }

    /// <summary>Smallest valid scenario body after the machine section.</summary>
    public const string OneProcess = """
        processes:
          - name: p
            workload: {generator: "random:count=10"}
        """;
}
