using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// The what-if <c>ECSMEM_ORACLE_RAM</c> (session 28, oracle/experiments/sw60-rounds): every generated scenario's machine
/// gets that RAM instead of the kit's 256 MiB, and a value that is not a whole number of bytes of at least 4 MiB ends the
/// run with one line naming the variable and the value.
/// </summary>
[NonParallelizable]
public class KitRamTests
{
    private const string Var = "ECSMEM_ORACLE_RAM";

    private static GeneratedScenario Generate(string name)
    {
        string dir = Path.Combine(Kit.OracleDir(TestContext.CurrentContext.TestDirectory), "programs");
        return ScenarioGenerator.Generate(new ProgramPlan(PhaseProgram.LoadAll(dir).Single(p => p.Name == name)));
    }

    [TearDown]
    public void Unset() => Environment.SetEnvironmentVariable(Var, null);

    [Test]
    public void UnsetKeepsTheKitsRam()
    {
        Environment.SetEnvironmentVariable(Var, null);
        Assert.That(Generate("swappiness-60").Yaml, Does.Contain($"\n  ram: {256L << 20}\n"));
    }

    [Test]
    public void ItSetsEveryProgramsRam()
    {
        Environment.SetEnvironmentVariable(Var, "2147483648");
        // A memcg program and one without a group alike.
        Assert.That(Generate("swappiness-60").Yaml, Does.Contain("\n  ram: 2147483648\n"));
        Assert.That(Generate("ra-cold-seq").Yaml, Does.Contain("\n  ram: 2147483648\n"));
    }

    [TestCase("12x")]
    [TestCase("-1")]
    [TestCase("4194303")]
    public void ABadValueIsRefusedInOneLine(string value)
    {
        Environment.SetEnvironmentVariable(Var, value);
        var e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => Generate("swappiness-60"));
        Assert.That(e!.Message, Does.Contain(Var).And.Contain(value).And.Not.Contain("\n"));
    }
}
