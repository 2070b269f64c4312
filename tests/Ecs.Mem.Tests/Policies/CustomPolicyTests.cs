using EcsMem.Diagnostics;
using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;

namespace EcsMem.Tests.Policies;

/// <summary>Most-recently-used eviction, defined only here: proves outside code can plug a policy in.</summary>
internal sealed class MruTestPolicy : IReplacementPolicy
{
    private readonly List<int> _order = []; // least → most recently used

    public string Name => "test-mru";
    public void Initialize(int frameCount) => _order.Clear();
    public void OnMiss(ulong page) { }
    public void OnInserted(int frame, ulong page) => _order.Add(frame);

    public void OnReferenced(int frame)
    {
        _order.Remove(frame);
        _order.Add(frame);
    }

    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        for (int i = _order.Count - 1; i >= 0; i--)
            if (!(_order[i] < unevictable.Length && unevictable[_order[i]])) return _order[i];
        return -1;
    }

    public void OnRemoved(int frame) => _order.Remove(frame);
}

public class CustomPolicyTests
{
    private static readonly ulong[] Belady = Sim.Pages(1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5);

    [OneTimeSetUp]
    public void RegisterFromOutside() => PolicyRegistry.Register("test-mru", _ => new MruTestPolicy(), "test only");

    [Test]
    public void CustomPolicyRunsByNameInTheIdealSimulator()
    {
        // MRU, 3 frames: 1 2 3 miss; 4 evicts MRU 3; 1 2 hit; 5 evicts 2 (MRU); 1 hit; 2 evicts 1;
        // 3 evicts 2; 4 5 hit. Faults 7, victims 3,2,1,2.
        var sim = new IdealSimulator(3, PolicyRegistry.Create("TEST-MRU", default)) { EvictionLog = [] };
        sim.Run(Belady);
        Assert.That(sim.Result.Faults, Is.EqualTo(7));
        Assert.That(sim.EvictionLog, Is.EqualTo(Sim.Pages(3, 2, 1, 2)));
        Assert.That(PolicyRegistry.Names, Does.Contain("test-mru"));
    }

    [Test]
    public void CustomPolicyRunsByNameThroughTheCli()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ecsmem-mru-{Guid.NewGuid():N}.pages");
        File.WriteAllText(path, string.Join("\n", Belady) + "\n");
        try
        {
            var (code, stdout, stderr) = IdealCliTests.Cli("run", "--ideal", "--trace", path, "--frames", "3", "--policy", "test-mru", "--json");
            Assert.That(stderr, Is.Empty);
            Assert.That(code, Is.EqualTo(0));
            using var doc = System.Text.Json.JsonDocument.Parse(stdout);
            Assert.That(doc.RootElement.GetProperty("faults").GetInt64(), Is.EqualTo(7));
            Assert.That(doc.RootElement.GetProperty("policy").GetString(), Is.EqualTo("test-mru"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void UnknownNameListsTheKnownNames()
    {
        var e = Assert.Throws<InputException>(() => PolicyRegistry.Create("belady2", default))!;
        Assert.That(e.Value, Is.EqualTo("belady2"));
        foreach (string p in Sim.BuiltIns)
            Assert.That(e.Message, Does.Contain(p));
    }

    [Test]
    public void NamesAreCaseInsensitive()
    {
        Assert.That(PolicyRegistry.Create("LRU", default), Is.TypeOf<LruPolicy>());
        Assert.That(PolicyRegistry.Create("Clock-Ref", default).Name, Is.EqualTo("clock-ref"));
    }
}
