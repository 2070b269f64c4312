using EcsMem.Scenarios;
using EcsMem.Systems.Events;
using EcsMem.Systems.Machine;

namespace EcsMem.Tests.Oracle;

/// <summary>Runs a kit program's generated scenario as <c>ecsmem run</c> would, with every event kept.</summary>
internal static class KitScenarioRun
{
    /// <summary>
    /// Writes <paramref name="sc"/>'s scenario and trace to a temporary directory as <paramref name="name"/>.yaml and
    /// .lackey (the scenario names its trace relative to itself), runs it and returns its events and timing model.
    /// </summary>
    public static (List<MemEvent> Events, EcsMem.Systems.Timing.TimingModel Timing) RunWithEvents(EcsMem.Oracle.GeneratedScenario sc, string name)
    {
        string dir = Directory.CreateTempSubdirectory("ecsmem-kitrun-").FullName;
        try
        {
            string yaml = Path.Combine(dir, name + ".yaml");
            File.WriteAllText(yaml, sc.Yaml);
            sc.WriteTraces(dir, name);
            using var m = ScenarioLoader.Build(ScenarioParser.ParseFile(yaml));
            var sink = new ListEventSink();
            m.Kernel.AttachEvents(sink);
            m.Run();
            return (sink.Events, m.Kernel.Timing);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
