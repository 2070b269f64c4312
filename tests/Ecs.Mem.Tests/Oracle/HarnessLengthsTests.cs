using EcsMem.Diagnostics;
using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// The harness's measured lengths (oracle/harness-lengths.tsv, oracle/experiments/harness-lengths): the parser's refusals,
/// and the pages the measured sizes give against the pages worked out by hand from the figures and harness.h's slurp.
/// </summary>
[TestFixture]
public class HarnessLengthsTests
{
    private static readonly string OracleDir = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);

    private static HarnessFootprint Footprint(string name)
    {
        PhaseProgram p = PhaseProgram.LoadAll(Path.Combine(OracleDir, "programs")).Single(x => x.Name == name);
        return HarnessFootprint.Of(p) ?? throw new InvalidOperationException($"{name} has no footprint");
    }

    [TestCase("program\tphase\tbuf\n", 1, "not the header")]
    [TestCase("# c\n" + HarnessLengths.Header + "\na\tp\t832\t864\t85\t19838\n", 3, "6 tab-separated fields")]
    [TestCase(HarnessLengths.Header + "\na\tp\t832\t864\t85\t19,838\t1744\n", 2, "field 6 is not a whole number")]
    [TestCase(HarnessLengths.Header + "\na\tp\t4096\t864\t85\t19838\t1744\n", 2, "field 3 is not a whole number of 0 to 4095")]
    [TestCase(HarnessLengths.Header + "\na\tp\t832\t864\t85\t-1\t1744\n", 2, "field 6")]
    [TestCase(HarnessLengths.Header + "\na\tp\t832\t864\t85\t19838\t1744\na\tp\t832\t864\t85\t19838\t1744\n", 3, "phase listed twice")]
    [TestCase(HarnessLengths.Header + "\na\tp\t832\t864\t85\t1\t1\na\tq\t800\t864\t85\t1\t1\n", 3, "layout fields differ")]
    [TestCase(HarnessLengths.Header + "\na\tp\t832\t864\t85\t1\t1\nb\tp\t832\t864\t85\t1\t1\na\tq\t832\t864\t85\t1\t1\n", 4, "not together")]
    [TestCase(HarnessLengths.Header + "\n\tp\t832\t864\t85\t1\t1\n", 2, "empty program")]
    [TestCase("# only a comment", 1, "no header line")]
    public void A_bad_line_is_refused_in_one_line_naming_the_file_and_line(string text, int line, string problem)
    {
        var e = Assert.Throws<InputException>(() => HarnessLengths.Parse(text.Split('\n'), "x/harness-lengths.tsv"))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Origin, Is.EqualTo("x/harness-lengths.tsv"));
            Assert.That(e.Line, Is.EqualTo(line));
            Assert.That(e.Message, Does.Contain(problem));
            Assert.That(e.Message, Does.Not.Contain("\n"));
        });
    }

    [Test]
    public void The_file_names_every_memcg_program_with_its_phases()
    {
        var all = HarnessLengths.Load(Path.Combine(OracleDir, HarnessLengths.FileName));
        foreach (PhaseProgram p in PhaseProgram.LoadAll(Path.Combine(OracleDir, "programs")).Where(p => p.MemcgLimit is not null))
            Assert.That(HarnessLengths.For(p, all, "t"), Is.Not.Null, p.Name);
    }

    [Test]
    public void Swappiness_60s_smaps_reaches_bufs_fifth_bss_page_and_anon2s_record_outs_third()
    {
        // By hand: nm puts buf at 0x5340, 832 bytes into the .data page (oracle/experiments/harness-lengths/results/
        // session24.nm.txt), so 3,264 of buf's bytes precede the bss; smaps is 19,838 bytes and slurp writes buf[0..19,838]
        // (the NUL last): bss byte 16,574, in bss page 4 (16,384-20,479): pages 0-4, five (kmem-gap's pagemap at anon2's
        // record: buf's bss page 4 mapped). out is 864 bytes into bss page 63, the head 85 bytes, the records before
        // anon2's 1,744 + 1,770 + 1,878 + 1,876: anon2's starts at 8,217, in out's third page (bss 65, as kmem-gap saw mapped).
        HarnessFootprint h = Footprint("swappiness-60");
        long bss = h.Pages - HarnessFootprint.BssPages;
        Assert.Multiple(() =>
        {
            Assert.That(h.Lengths, Is.Not.Null);
            Assert.That(h.Lengths!.SmapsBufPages(5), Is.EqualTo(5));
            Assert.That(h.BetweenPhasesAfter(5).Where(i => i >= bss && i < bss + HarnessFootprint.OutnPage), Is.EqualTo(new[] { bss, bss + 1, bss + 2, bss + 3, bss + 4 }));
            Assert.That(h.RecordStart(5), Is.EqualTo(8217));
            Assert.That(h.RecordTail(5), Is.EqualTo(new[] { bss + HarnessFootprint.OutnPage + 2 }), "anon2's record, 8,217 to 10,097, in out's third page");
        });
    }

    [Test]
    public void Swap_anon_reads_smaps_stays_in_four_pages_and_thp_deferred_splits_grows_to_five_after_the_split()
    {
        // By hand: swap-anon-read's buf at 0x5320, 800 into its page: 3,296 bytes before the bss; smaps 19,056 bytes:
        // bss byte 15,760, page 3: four pages (the one-size model's 4). thp-deferred-split-memcg's buf likewise at 800:
        // fill's smaps 19,109 (15,813, page 3: four), pressure's 19,827 (16,531, page 4: five).
        HarnessFootprint read = Footprint("swap-anon-read"), thp = Footprint("thp-deferred-split-memcg");
        long bss = read.Pages - HarnessFootprint.BssPages;
        Assert.Multiple(() =>
        {
            Assert.That(read.Lengths!.SmapsBufPages(1), Is.EqualTo(4));
            Assert.That(read.Lengths.SmapsBufPages(2), Is.EqualTo(4));
            Assert.That(read.BetweenPhasesAfter(1).Count(i => i >= bss && i < bss + HarnessFootprint.OutnPage), Is.EqualTo(4));
            Assert.That(thp.Lengths!.SmapsBufPages(1), Is.EqualTo(4));
            Assert.That(thp.Lengths.SmapsBufPages(3), Is.EqualTo(5));
        });
    }
    [TestCase("memfd-swap-memcg")]
    [TestCase("shmem-swap-memcg")]
    public void The_measured_records_reach_outs_second_page_where_the_kernel_faulted_on_it(string name)
    {
        // oracle/experiments/harness-stores: a write fault on out's second page in the second phase_end's later segments
        // and in the third's pre segment, in both programs. By hand: memfd-swap-memcg's out at 864, head 88, records 1,738
        // and 1,704: phase_end 2's share is 2,690-4,393 (past 4,096), phase_end 3's header at 4,394; shmem-swap-memcg's
        // 832 + 88 + 1,729 = 2,649 to 4,381, then 4,382. Out's second page is bss 64.
        HarnessFootprint h = Footprint(name);
        long second = h.Pages - HarnessFootprint.BssPages + HarnessFootprint.OutnPage + 1;
        Assert.Multiple(() =>
        {
            Assert.That(h.RecordStart(2), Is.EqualTo(name == "memfd-swap-memcg" ? 2690 : 2649));
            Assert.That(h.RecordGrowth(1), Is.Empty);
            Assert.That(h.RecordGrowth(2), Is.EqualTo(new[] { second }));
            Assert.That(h.RecordHead(3), Is.EqualTo(new[] { second }));
        });
    }
}
