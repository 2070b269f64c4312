using System.Text;
using EcsMem.Scenarios;

namespace EcsMem.Tests.Scenarios;

public class ScenarioDeterminismTests
{
    [Test]
    public void ReparsingGivesByteIdenticalModels()
    {
        string path = Path.Combine(ScenarioTestFiles.RepoRoot(), "samples", "scenarios", "example.yaml");
        string first = ModelDump.Of(ScenarioParser.ParseFile(path));
        string second = ModelDump.Of(ScenarioParser.ParseFile(path));
        Assert.That(Encoding.UTF8.GetBytes(second), Is.EqualTo(Encoding.UTF8.GetBytes(first)));
        string defaultFirst = ModelDump.Of(DefaultScenario.Load());
        string defaultSecond = ModelDump.Of(DefaultScenario.Load());
        Assert.That(defaultSecond, Is.EqualTo(defaultFirst));
        // The dump really reflects content: a one-character change in the file changes it.
        string changed = ModelDump.Of(ScenarioParser.Parse(new StringReader(File.ReadAllText(path).Replace("alpha=0.9", "alpha=0.8", StringComparison.Ordinal)), path, Path.GetDirectoryName(path)));
        Assert.That(changed, Is.Not.EqualTo(first));
    }
}
