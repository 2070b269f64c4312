using EcsMem.Ecs;
using EcsMem.Diagnostics;
using EcsMem.Systems.Caches;

namespace EcsMem.Tests.Caches;

public class CacheGeometryTests
{
    [Test]
    public void SeedGeometryHasTheSetCountsTheSizesImply()
    {
        var s = CacheHierarchyConfig.Seed;
        // sets = size / (ways * line): 32768/(8*64)=64, 262144/(4*64)=1024, 3145728/(12*64)=4096
        Assert.That(new[] { s.L1i.Sets, s.L1d.Sets, s.L2.Sets, s.L3.Sets }, Is.EqualTo(new[] { 64, 64, 1024, 4096 }));
        Assert.That(s.L3.LineBits, Is.EqualTo(6));
    }

    [TestCase(32768, 8, 48, "line size 48 is not a power of two between 1 and 1048576 bytes")]
    [TestCase(32768, 8, 0, "line size 0 is not a power of two between 1 and 1048576 bytes")]
    [TestCase(32768, 0, 64, "associativity 0 must be from 1 to 65536 ways")]
    [TestCase(0, 8, 64, "size 0 must be positive")]
    [TestCase(32000, 8, 64, "size 32000 is not a multiple of ways*line = 512")]
    [TestCase(3145728, 16, 64, "set count 3072 (size/(ways*line)) is not a power of two")]
    public void BadGeometryIsAnInputErrorNamingTheValue(long size, long ways, long line, string problem)
    {
        var ex = Assert.Throws<InputException>(() => CacheGeometry.Create(size, ways, line, "cfg.yaml", 4, "L2"))!;
        Assert.That(ex.Origin, Is.EqualTo("cfg.yaml"));
        Assert.That(ex.Line, Is.EqualTo(4));
        Assert.That(ex.Value, Is.EqualTo($"{size},{ways},{line}"));
        Assert.That(ex.Problem, Is.EqualTo("L2: " + problem));
    }

    [Test]
    public void ParseAcceptsCachegrindSyntaxAndRejectsOtherShapes()
    {
        var g = CacheGeometry.Parse("3145728,12,64", "command line", 0, "--LL");
        Assert.That((g.SizeBytes, g.Ways, g.LineBytes, g.Sets), Is.EqualTo((3145728L, 12, 64, 4096)));
        Assert.That(CacheGeometry.Parse("32K,8,64", "command line", 0, "--D1").SizeBytes, Is.EqualTo(32768));
        Assert.That(() => CacheGeometry.Parse("32768,8", "command line", 0, "--D1"),
            Throws.TypeOf<InputException>().With.Property("Problem").EqualTo("--D1 needs SIZE,ASSOC,LINE_SIZE (e.g. 32768,8,64)"));
        Assert.That(() => CacheGeometry.Parse("32768,x,64", "command line", 0, "--D1"),
            Throws.TypeOf<InputException>().With.Property("Value").EqualTo("32768,x,64"));
    }

    [Test]
    public void HierarchyRejectsMixedLineSizes()
    {
        var s = CacheHierarchyConfig.Seed;
        var mixed = s with { L2 = CacheGeometry.Create(262144, 4, 128, "t", 0, "L2") };
        Assert.That(() => new CacheHierarchy<LruReplacement>(new World(), mixed, default),
            Throws.TypeOf<InputException>().With.Property("Problem").EqualTo("all cache levels must have the same line size"));
    }

    [Test]
    public void UnknownPolicyNameIsAnInputError()
    {
        Assert.That(() => CacheHierarchyFactory.Create(new World(), CacheHierarchyConfig.Seed, "plru"),
            Throws.TypeOf<InputException>().With.Property("Value").EqualTo("plru"));
        Assert.That(CacheHierarchyFactory.Create(new World(), CacheHierarchyConfig.Seed, "fifo"), Is.InstanceOf<CacheHierarchy<FifoReplacement>>());
    }
}
