using EcsMem.Diagnostics;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Caches.Cachegrind;

namespace EcsMem.Tests.Caches;

public class HostCacheTopologyTests
{
    private string _root = "";

    [SetUp]
    public void MakeRoot() => _root = Directory.CreateTempSubdirectory("ecsmem-sysfs-").FullName;

    [TearDown]
    public void RemoveRoot() => Directory.Delete(_root, recursive: true);

    private void Index(int i, int level, string type, string size, int ways, int line, int sets)
    {
        string d = Path.Combine(_root, $"index{i}");
        Directory.CreateDirectory(d);
        File.WriteAllText(Path.Combine(d, "level"), $"{level}\n");
        File.WriteAllText(Path.Combine(d, "type"), $"{type}\n");
        File.WriteAllText(Path.Combine(d, "size"), $"{size}\n");
        File.WriteAllText(Path.Combine(d, "ways_of_associativity"), $"{ways}\n");
        File.WriteAllText(Path.Combine(d, "coherency_line_size"), $"{line}\n");
        File.WriteAllText(Path.Combine(d, "number_of_sets"), $"{sets}\n");
    }

    private void SeedLikeMachine()
    {
        // The kernel lists index0 = L1d, index1 = L1i, index2 = L2, index3 = L3 on x86.
        Index(0, 1, "Data", "32K", 8, 64, 64);
        Index(1, 1, "Instruction", "32K", 8, 64, 64);
        Index(2, 2, "Unified", "256K", 4, 64, 1024);
        Index(3, 3, "Unified", "3072K", 12, 64, 4096);
        File.WriteAllText(Path.Combine(_root, "uevent"), "");
    }

    [Test]
    public void ReadsAFourLevelHierarchy()
    {
        SeedLikeMachine();
        var cfg = HostCacheTopology.ReadHierarchy(_root);
        Assert.That(cfg, Is.EqualTo(CacheHierarchyConfig.Seed));
    }

    [Test]
    public void MissingDirectoryOrLevelIsAClearError()
    {
        string nowhere = Path.Combine(_root, "nope");
        Assert.That(() => HostCacheTopology.ReadHierarchy(nowhere),
            Throws.TypeOf<InputException>().With.Property("Origin").EqualTo(nowhere).And.Message.Contains("give the geometry explicitly"));
        Index(0, 1, "Data", "32K", 8, 64, 64);
        Index(1, 1, "Instruction", "32K", 8, 64, 64);
        Index(2, 2, "Unified", "256K", 4, 64, 1024);
        Assert.That(() => HostCacheTopology.ReadHierarchy(_root),
            Throws.TypeOf<InputException>().With.Property("Value").EqualTo("L3 Unified"));
    }

    [Test]
    public void InconsistentOrMalformedFilesAreInputErrors()
    {
        Index(0, 1, "Data", "32K", 8, 64, 32);   // 8*64*32 = 16K, not 32K
        Assert.That(() => HostCacheTopology.ReadEntries(_root),
            Throws.TypeOf<InputException>().With.Property("Problem").EqualTo("inconsistent cache geometry: size is not ways * line * sets"));
        Index(0, 1, "Data", "32K", 8, 64, 64);
        File.WriteAllText(Path.Combine(_root, "index0", "level"), "one\n");
        Assert.That(() => HostCacheTopology.ReadEntries(_root),
            Throws.TypeOf<InputException>().With.Property("Value").EqualTo("one"));
    }

    [Test]
    public void CachegrindAutoDetectUsesTheHighestLevelAndWarnsAsCachegrindDoes()
    {
        SeedLikeMachine();
        var w = new StringWriter();
        var cfg = CachegrindConfig.FromHost(_root, w);
        Assert.That(cfg, Is.EqualTo(CachegrindConfig.Seed));
        Assert.That(w.ToString(), Is.EqualTo("warning: L3 cache found, using its data for the LL simulation.\n"));
    }

    [Test]
    public void CachegrindAutoDetectTweaksANonPowerOfTwoLastLevel()
    {
        // 12 MiB, 16 ways, 64 B: 12288 sets -> 8192 sets, ways = (int)(0.5 + 1.5*16) = 24,
        // size = 64*24*8192 = 12 MiB again.
        Index(0, 1, "Data", "32K", 8, 64, 64);
        Index(1, 1, "Instruction", "32K", 8, 64, 64);
        Index(2, 2, "Unified", "256K", 4, 64, 1024);
        Index(3, 3, "Unified", "12288K", 16, 64, 12288);
        var w = new StringWriter();
        var cfg = CachegrindConfig.FromHost(_root, w);
        Assert.That((cfg.LL.SizeBytes, cfg.LL.Ways, cfg.LL.Sets), Is.EqualTo((12582912L, 24, 8192)));
        Assert.That(w.ToString(), Is.EqualTo(
            "warning: L3 cache found, using its data for the LL simulation.\n" +
            "warning: specified LL cache: line_size 64  assoc 16  total_size 12,582,912\n" +
            "warning: simulated LL cache: line_size 64  assoc 24  total_size 12,582,912\n"));
    }

    [Test]
    public void TweakOfTheAmdFiveMegabyteCase()
    {
        // 5 MiB, 48 ways, 64 B: 1706 sets (integer division) -> 1024 sets, factor 1706/1024 = 1.666...,
        // ways = (int)(0.5 + 1.666*48) = (int)80.47 = 80, size = 64*80*1024 = 5,242,880.
        var (size, ways) = CachegrindConfig.TweakLastLevel(5 << 20, 48, 64, TextWriter.Null);
        Assert.That((size, ways), Is.EqualTo((5242880L, 80)));
    }
}
