namespace EcsMem.Scenarios;

/// <summary>
/// The scenario <c>ecsmem run</c> simulates without arguments, embedded in the assembly as
/// <c>Scenarios/default.yaml</c> so it always exists and is parsed by the same strict parser as user files.
/// </summary>
public static class DefaultScenario
{
    /// <summary>The name errors and reports use for it.</summary>
    public const string SourceName = "<default scenario>";

    private const string ResourceName = "EcsMem.Scenarios.default.yaml";

    /// <summary>The YAML text, e.g. for <c>ecsmem scenario --print-default</c> or as a template.</summary>
    public static string Yaml { get; } = ReadResource();

    /// <summary>Parses the embedded scenario.</summary>
    public static Scenario Load()
    {
        using var reader = new StringReader(Yaml);
        return ScenarioParser.Parse(reader, SourceName);
    }

    private static string ReadResource()
    {
        using var stream = typeof(DefaultScenario).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
