using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Memcontrol;
using EcsMem.Systems.Reporting;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// cgroup v1's memory.stat pgpgin and pgpgout (mm/memcontrol-v1.c: memcg1_charge_statistics counts one PGPGIN per
/// folio charged, memcg1_uncharge_batch one PGPGOUT per folio uncharged, memcg1_swapout one per swapped-out folio;
/// kernel memory counts none): while no huge page is split (a split THP's 512 pages are uncharged one by one, as in
/// Linux) their difference is at every step the number of folios charged to the group that are not kernel memory,
/// counted from the frames, and a group that swapped has uncharged at least the pages it wrote out.
/// </summary>
public class MemcgPgpgTests
{
    private const ulong Anon = 0x7e0000000000;

    private static string Yaml(int version, string thp, string madvise, string limit = "4194304") =>
        $"machine: {{ram: 64M, swap: 64M, writeback: async, cgroup_version: {version}{thp}}}\n"
        + $"cgroups:\n  - {{name: g, memory.max: {limit}}}\n"
        + "processes:\n  - name: p\n    cgroup: g\n    layout: {exec: {}}\n    workload:\n"
        + $"      generator: \"seq:count=4096,pages=4096,writes=1,base=0x{Anon:x}\"\n"
        + "timeline:\n  - after: 0\n    process: p\n"
        + $"    mmap: {{addr: 0x{Anon:x}, length: 16M, prot: rw-, flags: private, fixed: true}}\n" + madvise;

    /// <summary>The group's folios that are not kernel memory: a single page, or the head of a THP or large folio.</summary>
    private static long ChargedFolios(SimMachine m, MemCgroup g)
    {
        var k = m.Kernel;
        Frame[] frames = k.Zone.Frames;
        long n = 0;
        for (int pfn = 0; pfn < frames.Length; pfn++)
        {
            if (ReferenceEquals(k.Memcg!.OfFrame(pfn), g) && (frames[pfn].Flags & FrameFlags.Slab) == 0 && k.Zone.FolioHead(pfn))
                n++;
        }
        return n;
    }

    /// <summary>
    /// 16 MiB of anonymous memory written under a 4 MiB limit with swap (4,096 pages, at most 1,024 resident): every
    /// folio is a page, each charged at its first touch and each swapped out uncharged (memcg1_swapout).
    /// </summary>
    [Test]
    public void PgpginLessPgpgoutIsTheGroupsChargedPages()
    {
        using SimMachine m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Yaml(1, "", "")), "pgpg.yaml"));
        MemCgroup g = m.Kernel.Memcg!.Find("g");
        var wrong = Check(m, g, out int checks);
        Assert.That(wrong, Is.Empty);
        Assert.That(checks, Is.GreaterThan(10));
        long swapped = m.Env.Counters.Get("pswpout") + m.Env.Counters.Get("swpout_zero");
        Assert.That(swapped, Is.GreaterThanOrEqualTo(4096 - 1024), "the region did not fit");
        Assert.That(g.PgPgOut, Is.GreaterThanOrEqualTo(swapped), "each page swapped out was uncharged");
        Assert.That(g.PgPgIn, Is.GreaterThanOrEqualTo(4096), "each page of the region was charged at its first touch");
    }

    /// <summary>
    /// The same 16 MiB with MADV_HUGEPAGE and room for it (memory.max 64 MiB): its faults take eight 2 MiB folios, one
    /// PGPGIN each ("pagein of a big page is an event"), and the run's end frees each with one PGPGOUT, so the group
    /// counts far fewer events than the 4,096 pages (the exec layout's own pages besides: a few dozen).
    /// </summary>
    [Test]
    public void AHugePageIsOneEvent()
    {
        string madvise = $"  - after: 0\n    process: p\n    madvise: {{addr: 0x{Anon:x}, length: 16M, advice: hugepage}}\n";
        using SimMachine m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Yaml(1, ", thp: {enabled: madvise}", madvise, "67108864")), "pgpg.yaml"));
        MemCgroup g = m.Kernel.Memcg!.Find("g");
        var wrong = Check(m, g, out _);
        Assert.That(wrong, Is.Empty);
        Assert.That(m.Env.Counters.Get("thp_fault_alloc"), Is.EqualTo(8));
        Assert.That(g.PgPgIn, Is.GreaterThanOrEqualTo(8).And.LessThan(100));
        Assert.That(g.PgPgOut, Is.EqualTo(g.PgPgIn), "everything was freed at the exit");
    }

    /// <summary>At every step: pgpgin - pgpgout = the group's charged folios (up to three mismatches reported).</summary>
    private static List<string> Check(SimMachine m, MemCgroup g, out int checks)
    {
        var wrong = new List<string>();
        int n = 0;
        m.Run(() =>
        {
            long folios = ChargedFolios(m, g);
            if (g.PgPgIn - g.PgPgOut != folios && wrong.Count < 3)
                wrong.Add($"pgpgin {g.PgPgIn} - pgpgout {g.PgPgOut} != {folios} folios charged");
            n++;
            return false;
        }, checkEvery: 1);
        checks = n;
        return wrong;
    }

    /// <summary>v1's memory.stat prints the group's own pgpgin and pgpgout; v2's has no such entries.</summary>
    [Test]
    public void OnlyTheV1MemoryStatPrintsThem()
    {
        foreach (int version in new[] { 1, 2 })
        {
            using SimMachine m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Yaml(version, "", "")), "pgpg.yaml"));
            m.Run();
            MemCgroup g = m.Kernel.Memcg!.Find("g");
            var stat = MemcgFiles.Read(m.Kernel).Single(f => f.Path == "/g").Stat;
            if (version == 1)
            {
                Assert.That(stat.Single(v => v.Name == "pgpgin").Value, Is.EqualTo(g.PgPgIn).And.GreaterThan(0));
                Assert.That(stat.Single(v => v.Name == "pgpgout").Value, Is.EqualTo(g.PgPgOut).And.GreaterThan(0));
            }
            else
            {
                Assert.That(stat.Any(v => v.Name.StartsWith("pgpg", StringComparison.Ordinal)), Is.False);
            }
        }
    }
}
