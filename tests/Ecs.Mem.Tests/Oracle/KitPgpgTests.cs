using EcsMem.Components;
using EcsMem.Oracle;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Memcontrol;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// cgroup v1's pgpgin/pgpgout over a kit program whose readahead builds large page-cache folios and whose reclaim
/// frees them whole (ra-reread-memcg: a 64 MiB file read twice through a mapping under a 16 MiB limit): one event a folio
/// charged and one a folio freed, so at every step pgpgin - pgpgout is the group's charged folios, counted from the
/// frames — the kernel's figures say the same (the fixture's pgpgin stays above its pgpgout: pass 2 31,296–65,987
/// against 28,241–62,024); before the count took a folio's head only, reclaim's release of a large folio counted each
/// of its pages and pgpgout passed pgpgin (pass 2: 59,147 against 39,617).
/// </summary>
[TestFixture]
public class KitPgpgTests
{
    private static readonly string OracleDir = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);

    [Test]
    public void A_large_folio_is_one_charge_and_one_uncharge_event()
    {
        PhaseProgram p = PhaseProgram.LoadAll(Path.Combine(OracleDir, "programs")).Single(x => x.Name == "ra-reread-memcg");
        GeneratedScenario g = ScenarioGenerator.Generate(new ProgramPlan(p));
        string dir = Directory.CreateTempSubdirectory("ecsmem-kit-pgpg-").FullName;
        try
        {
            string yaml = Path.Combine(dir, p.Name + ".yaml");
            File.WriteAllText(yaml, g.Yaml);
            g.WriteTraces(dir, p.Name);
            using SimMachine m = ScenarioLoader.Build(ScenarioParser.ParseFile(yaml));
            MemCgroup grp = m.Kernel.Memcg!.Find("oracle");
            Frame[] frames = m.Kernel.Zone.Frames;
            var wrong = new List<string>();
            long largeSeen = 0;
            m.Run(() =>
            {
                long folios = 0;
                for (int pfn = 0; pfn < frames.Length; pfn++)
                {
                    if (!ReferenceEquals(m.Kernel.Memcg.OfFrame(pfn), grp) || (frames[pfn].Flags & FrameFlags.Slab) != 0 || !m.Kernel.Zone.FolioHead(pfn))
                        continue;
                    folios++;
                    if (frames[pfn].FolioOrder > 0)
                        largeSeen++;
                }
                if (grp.PgPgIn - grp.PgPgOut != folios && wrong.Count < 3)
                    wrong.Add($"pgpgin {grp.PgPgIn} - pgpgout {grp.PgPgOut} != {folios} folios charged");
                return false;
            }, checkEvery: 256);
            Assert.That(largeSeen, Is.GreaterThan(0), "readahead built large folios in the group");
            Assert.That(wrong, Is.Empty);
            Assert.That(grp.PgPgIn, Is.GreaterThan(grp.PgPgOut));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
