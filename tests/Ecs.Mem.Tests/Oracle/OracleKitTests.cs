using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// The kernel differential kit (oracle/README.md): every program of oracle/programs, generated as an EcsMem
/// scenario and run in-process, against the figures the real kernel gave (oracle/fixtures.json): per phase
/// min_flt/maj_flt exact where the kernel was deterministic over the recorded runs and within [min, max]
/// otherwise, and the program's VMAs (shape, Rss, Swap). A program on oracle/known-gaps.md is ignored with the
/// reason listed there, and fails once EcsMem matches it (so the list stays honest).
/// </summary>
[TestFixture]
public class OracleKitTests
{
    private static readonly string OracleDir = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);
    private static readonly Lazy<Fixtures> FixturesFile = new(() => Fixtures.Load(Path.Combine(OracleDir, "fixtures.json")));
    private static readonly Lazy<IReadOnlyDictionary<string, KnownGap>> Gaps = new(() => Kit.KnownGaps(Path.Combine(OracleDir, "known-gaps.md")));
    private static readonly Lazy<IReadOnlyList<ProgramResult>> Results = new(() =>
    {
        string scratch = Path.Combine(Path.GetTempPath(), "ecsmem-oracle-tests-" + Environment.ProcessId);
        try
        {
            return Programs().Select(p => Kit.Evaluate(p, FixturesFile.Value, scratch)).ToList();
        }
        finally
        {
            if (Directory.Exists(scratch))
                Directory.Delete(scratch, true);
        }
    });

    private static IReadOnlyList<PhaseProgram> Programs() => PhaseProgram.LoadAll(Path.Combine(OracleDir, "programs"));

    private static IEnumerable<string> ProgramNames() => Programs().Select(p => p.Name);

    [Test]
    public void The_kit_has_at_least_25_programs_and_every_one_is_recorded()
    {
        Assert.That(Programs(), Has.Count.GreaterThanOrEqualTo(25));
        foreach (PhaseProgram p in Programs())
        {
            ProgramFigures? f = FixturesFile.Value.Find(p.Name);
            Assert.That(f, Is.Not.Null, $"{p.Name} has no fixtures: run oracle/record.sh (root)");
            Assert.That(f!.Phases.Select(ph => ph.Name), Is.EqualTo(p.Phases.Select(ph => ph.Name)), p.Name + ": phases differ from the recording");
            Assert.That(f.Runs, Is.GreaterThanOrEqualTo(5), p.Name);
        }
    }

    [TestCaseSource(nameof(ProgramNames))]
    public void EcsMem_matches_the_kernel(string name)
    {
        ProgramResult r = Results.Value.Single(x => x.Program.Name == name);
        bool listed = Gaps.Value.TryGetValue(name, out KnownGap? gap);
        if (r.Agrees)
        {
            Assert.That(listed, Is.False, $"{name} is listed in oracle/known-gaps.md ({gap?.Reason}) but EcsMem now matches the kernel: remove it from the list");
            return;
        }
        string why = r.LeftOut.Count > 0
            ? "not expressible: " + string.Join(", ", r.LeftOut.Select(u => $"{u.Verb} (line {u.Line}): {u.Mechanism}"))
            : string.Join("\n", r.Differences);
        if (listed)
        {
            // The row's worst is EcsMem's, to its two decimals: a known gap cannot grow (or shrink) unnoticed behind its
            // row, whose text quotes the figures.
            Assert.That(KnownGap.Format(r.WorstOutside), Is.EqualTo(KnownGap.Format(gap!.Worst)),
                $"{name}: its worst figure is now {KnownGap.Format(r.WorstOutside)} of the kernel's spread outside it, the row in oracle/known-gaps.md says {KnownGap.Format(gap.Worst)}:\n{why}");
            Assert.Ignore($"known gap: {gap.Reason}\n{why}");
        }
        Assert.Fail($"{name} differs from the kernel and is not in oracle/known-gaps.md:\n{why}");
    }

    [Test]
    public void Every_known_gap_names_a_program_and_an_issue_item()
    {
        // The table may be empty (every program agrees, as since session 21); each row it has must name a kit program
        // and the issue item that brings the missing mechanism.
        var names = ProgramNames().ToHashSet(StringComparer.Ordinal);
        foreach (var (program, gap) in Gaps.Value)
        {
            Assert.That(names, Does.Contain(program), "known-gaps.md lists an unknown program");
            Assert.That(gap.Reason, Does.Match(@"issue \d+"), program + ": the reason names no issue item");
        }
    }

    [Test]
    public void The_known_gaps_parser_reads_rows_and_skips_the_header_and_the_prose()
    {
        // Guards the test above against a parser that silently finds nothing: a table written by hand, read back.
        string path = Path.Combine(Path.GetTempPath(), "ecsmem-known-gaps-" + Environment.ProcessId + ".md");
        try
        {
            File.WriteAllText(path, "# Known gaps\n\nProse | with a bar.\n\n| program | worst | reason |\n|---|---|---|\n"
                + "| `swap-anon-read` | 0.50 | majflt 5, kernel 6–7 (issue 16 item 6) |\n| `thp-swpout` | ∞ | no swap device (issue 9) |\n");
            IReadOnlyDictionary<string, KnownGap> gaps = Kit.KnownGaps(path);
            Assert.That(gaps.Keys, Is.EquivalentTo(new[] { "swap-anon-read", "thp-swpout" }));
            Assert.That(gaps["swap-anon-read"], Is.EqualTo(new KnownGap("majflt 5, kernel 6–7 (issue 16 item 6)", 0.5)));
            // 5 against 6–7: one below a spread two wide, half a width (Spread.Outside).
            Assert.That(new Spread(6, 7).Outside(5), Is.EqualTo(0.5));
            Assert.That(gaps["thp-swpout"].Worst, Is.EqualTo(double.PositiveInfinity));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void A_known_gap_row_whose_worst_is_not_a_number_is_refused_in_one_line_naming_the_file_the_line_and_the_cell()
    {
        string path = Path.Combine(Path.GetTempPath(), "ecsmem-known-gaps-bad-" + Environment.ProcessId + ".md");
        try
        {
            File.WriteAllText(path, "| program | worst | reason |\n|---|---|---|\n| `memfd` | far | (issue 16 item 6) |\n");
            var e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => Kit.KnownGaps(path));
            Assert.That(e!.Message, Does.StartWith(path + ":3: ").And.EndWith("(got 'far')").And.Not.Contain("\n"));
            // A row without the worst column (known-gaps.md before session 31) is refused too, not skipped.
            File.WriteAllText(path, "| program | reason |\n|---|---|\n| `memfd` | (issue 16 item 6) |\n");
            e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => Kit.KnownGaps(path));
            Assert.That(e!.Message, Does.StartWith(path + ":3: ").And.Contain("this one 2").And.EndWith("(got '`memfd`')"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase(10, 20, 15, 0.0)]
    [TestCase(10, 20, 9, 1 / 11.0)] // one below a spread of 11 values
    [TestCase(10, 20, 42, 2.0)] // 22 above it
    [TestCase(214, 214, 216, 2.0)] // two off an exact figure
    public void A_figure_outside_the_spread_is_measured_in_widths_of_it(long min, long max, long v, double widths)
    {
        Assert.That(new Spread(min, max).Outside(v), Is.EqualTo(widths).Within(1e-12));
    }

    [Test]
    public void The_generated_files_in_oracle_gen_are_up_to_date()
    {
        foreach (PhaseProgram p in Programs())
        {
            var plan = new ProgramPlan(p);
            Assert.That(File.ReadAllText(Path.Combine(OracleDir, "gen", p.Name + ".c")), Is.EqualTo(CGenerator.Generate(plan)),
                p.Name + ".c is stale: run `dotnet run --project oracle/Ecs.Mem.Oracle -- gen`");
            Assert.That(File.ReadAllText(Path.Combine(OracleDir, "gen", p.Name + ".yaml")), Is.EqualTo(ScenarioGenerator.Generate(plan).Yaml),
                p.Name + ".yaml is stale: run `dotnet run --project oracle/Ecs.Mem.Oracle -- gen`");
        }
    }

    [Test]
    public void The_memcg_scenarios_register_glibcs_rseq_area_where_the_kernel_read_rseq_cs()
    {
        // Traced on Linux 6.18 (oracle/experiments/harness-per-run/results/window-faults.txt and thp-swpout-tls.txt):
        // rseq_ip_fixup's get_user faulted at 0x7ffff7dd1068, rseq_cs, which include/uapi/linux/rseq.h puts after the
        // u32s cpu_id_start and cpu_id (offset 8): struct rseq starts 0x60 into its TLS page.
        const ulong rseqCs = 0x7ffff7dd1068, offsetInPage = (rseqCs - 8) & 0xfff;
        int memcg = 0;
        foreach (PhaseProgram p in Programs())
        {
            string yaml = ScenarioGenerator.Generate(new ProgramPlan(p)).Yaml;
            var line = yaml.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("rseq: ", StringComparison.Ordinal)).ToList();
            if (p.MemcgLimit is null)
            {
                // No harness pages are modelled outside a group (nothing there reclaims them): no area either.
                Assert.That(line, Is.Empty, p.Name);
                continue;
            }
            memcg++;
            Assert.That(line, Has.Count.EqualTo(1), p.Name + ": one process, one struct rseq");
            ulong area = Convert.ToUInt64(line[0]["rseq: 0x".Length..], 16);
            Assert.That(area & 0xfff, Is.EqualTo(offsetInPage), p.Name);
            // The harness is laid out at the real process's addresses (HarnessLayout, session 14): the area is where
            // the kernel's get_user faulted, less rseq_cs's offset.
            Assert.That(area, Is.EqualTo(rseqCs - 8), p.Name + ": the area lies in the harness's TLS page, at the traced address");
        }
        Assert.That(memcg, Is.GreaterThanOrEqualTo(10));
    }

    [Test]
    public void The_buddyinfo_what_if_scales_a_recorded_line_to_the_kits_ram()
    {
        const string name = "ECSMEM_ORACLE_TEST_BUDDYINFO"; // a name no other test or run reads
        try
        {
            Environment.SetEnvironmentVariable(name, null);
            Assert.That(OracleEnv.ScaledFreeArea(name, 256L << 20), Is.Null);
            // Session 20's k2.1 start (readahead-bios/results/session20.txt) on 65,536 pages over 2,129,920 managed:
            // 201 -> 6.18 -> 6, 1 -> 0.03 -> 0, 1,685 -> 51.85 -> 52, 1,476 -> 45.41 -> 45, 1,213 -> 37.32 -> 37,
            // 605 -> 18.62 -> 19, 377 -> 11.60 -> 12, 212 -> 6.52 -> 7, 62 -> 1.91 -> 2, 30 -> 0.92 -> 1.
            Environment.SetEnvironmentVariable(name, "Node 0, zone   Normal    201 1 1 1685 1476 1213 605 377 212 62 30");
            Assert.That(OracleEnv.ScaledFreeArea(name, 256L << 20), Is.EqualTo(new long[] { 6, 0, 0, 52, 45, 37, 19, 12, 7, 2, 1 }));
            Environment.SetEnvironmentVariable(name, "201 1 1 1685 1476 1213 605 377 212 62");
            var e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => OracleEnv.ScaledFreeArea(name, 256L << 20));
            Assert.That(e!.Message, Does.Contain(name).And.Contain("eleven"));
            Environment.SetEnvironmentVariable(name, "Node 0, zone    DMA32 0 4 2 2 1 2 0 3 3 1 753");
            Assert.Throws<EcsMem.Diagnostics.InputException>(() => OracleEnv.ScaledFreeArea(name, 256L << 20));
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Test]
    public void An_oracle_switch_is_0_or_1_and_anything_else_names_the_variable_and_value()
    {
        const string name = "ECSMEM_ORACLE_TEST_SWITCH"; // a name no other test or run reads
        try
        {
            Environment.SetEnvironmentVariable(name, null);
            Assert.That((OracleEnv.Flag(name, unset: true), OracleEnv.Flag(name, unset: false)), Is.EqualTo((true, false)));
            Environment.SetEnvironmentVariable(name, "0");
            Assert.That(OracleEnv.Flag(name, unset: true), Is.False);
            Environment.SetEnvironmentVariable(name, "1");
            Assert.That(OracleEnv.Flag(name, unset: false), Is.True);
            Environment.SetEnvironmentVariable(name, "yes");
            var e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => OracleEnv.Flag(name, unset: true));
            Assert.That(e!.Message, Does.Contain(name).And.Contain("yes").And.Contain("not 0 or 1"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Test]
    public void The_README_table_is_current()
    {
        string readme = File.ReadAllText(Path.Combine(OracleDir, "..", "README.md"));
        string expected = Kit.Table(FixturesFile.Value, Results.Value, Gaps.Value);
        Assert.That(Kit.TableIn(readme), Is.EqualTo(expected),
            "README's kit table is stale: run `dotnet run --project oracle/Ecs.Mem.Oracle -- table --write`");
    }

    [Test]
    public void The_basics_EcsMem_already_models_agree_with_the_kernel()
    {
        // The issue's baseline: anonymous first touch, zero-page reads and fork COW match exactly today.
        foreach (string name in new[] { "anon-first-touch", "anon-zero-page", "fork-cow", "brk-heap", "merge-adjacent-anon" })
            Assert.That(Results.Value.Single(r => r.Program.Name == name).Differences, Is.Empty, name);
    }

    [Test]
    public void The_scenarios_reproduce_the_recorded_machine_settings()
    {
        var k = FixturesFile.Value.Kernel;
        Assert.That(k["read_ahead_kb"], Does.StartWith(ScenarioSupport.ReadAheadKb + " "));
        Assert.That(k["fault_around_bytes"], Is.EqualTo(ScenarioSupport.FaultAroundBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(k["page_cluster"], Is.EqualTo(ScenarioSupport.PageCluster.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public void Compare_reports_a_count_outside_the_spread_and_accepts_one_inside()
    {
        var vma = new VmaFigure(ProgramPlan.SlotBase, ProgramPlan.SlotBase + 4096, "rw-p", 0, "", new Spread(4, 4), default, new Spread(0, 0), default);
        var kernel = new ProgramFigures("p", 5, [new PhaseFigures("w", new Spread(10, 12), new Spread(0, 0), [], true, [vma],
            new Dictionary<string, Spread>(), new Dictionary<string, Spread>())]);
        var simVma = vma with { RssKb = new Spread(4, 4) };
        Assert.That(Kit.Compare(kernel, [new SimPhase("w", 11, 0, [simVma])]), Is.Empty);
        // How far the worst difference is out (ProgramResult.WorstOutside), by hand: minflt 13 against 10–12 is one above
        // a spread of 3 values; with Rss 8 kB against an exact 4 besides, 4 widths of 1; a VMA shape is no number.
        Kit.Compare(kernel, [new SimPhase("w", 11, 0, [simVma])], out double worst);
        Assert.That(worst, Is.EqualTo(0));
        Kit.Compare(kernel, [new SimPhase("w", 13, 0, [simVma])], out worst);
        Assert.That(worst, Is.EqualTo(1 / 3.0).Within(1e-12));
        Kit.Compare(kernel, [new SimPhase("w", 13, 0, [simVma with { RssKb = new Spread(8, 8) }])], out worst);
        Assert.That(worst, Is.EqualTo(4.0));
        Kit.Compare(kernel, [new SimPhase("w", 13, 0, [simVma with { Perms = "r--p" }])], out worst);
        Assert.That(worst, Is.EqualTo(double.PositiveInfinity));
        Assert.That(Kit.Compare(kernel, [new SimPhase("w", 13, 0, [simVma])]), Has.Count.EqualTo(1).And.One.Contains("minflt 13"));
        Assert.That(Kit.Compare(kernel, [new SimPhase("w", 10, 1, [simVma])]), Has.One.Contains("majflt 1"));
        Assert.That(Kit.Compare(kernel, [new SimPhase("w", 10, 0, [simVma with { Perms = "r--p" }])]), Has.One.Contains("VMAs"));
        Assert.That(Kit.Compare(kernel, [new SimPhase("w", 10, 0, [simVma with { RssKb = new Spread(8, 8) }])]), Has.One.Contains("Rss 8"));
        Assert.That(Kit.Compare(kernel, [new SimPhase("w", 10, 0, [simVma with { LockedKb = new Spread(4, 4) }])]), Has.One.Contains("Locked 4"));
        Assert.That(Kit.Compare(kernel, [new SimPhase("w", 10, 0, [simVma]) { Errors = ["ENOMEM"] }]), Has.One.Contains("results [ENOMEM], kernel []"));
        Assert.That(Kit.Compare(kernel, [new SimPhase("w", 10, 0, [simVma]) { Errors = [] }]), Is.Empty);
    }

    [Test]
    public void Compare_checks_the_cgroup_oom_kills_and_the_peak_of_a_phase_that_ended_in_one()
    {
        static ProgramFigures Kernel(long kills, long peakMin, long peakMax) => new("p", 5, [new PhaseFigures("child", new Spread(0, 0), new Spread(0, 0), ["SIGKILL"], true, [],
            new Dictionary<string, Spread>(), new Dictionary<string, Spread>())
        {
            Memcg = new Dictionary<string, Spread> { ["oom_kill"] = new(kills, kills), ["failcnt"] = new(58, 93), ["max_usage_in_bytes"] = new(peakMin, peakMax) },
        }]);
        static SimPhase Sim(long kills, long peak, string end = "SIGKILL") => new("child", 0, 0, []) { Errors = [end], Memcg = new Dictionary<string, long> { ["oom_kill"] = kills, ["max_usage_in_bytes"] = peak } };
        ProgramFigures oom = Kernel(1, 16777216, 16777216);
        Assert.That(Kit.Compare(oom, [Sim(1, 16777216)]), Is.Empty, "failcnt is recorded, not compared");
        Assert.That(Kit.Compare(oom, [Sim(0, 16777216, "ok")]), Has.Count.EqualTo(2).And.One.Contains("results [ok], kernel [SIGKILL]").And.One.Contains("memcg oom_kill 0, kernel 1"));
        Assert.That(Kit.Compare(oom, [Sim(1, 16773120)]), Has.One.Contains("memcg max_usage_in_bytes 16773120"));
        // Without an OOM kill the peak depends on the harness's footprint: not compared.
        Assert.That(Kit.Compare(Kernel(0, 1191936, 1220608), [Sim(0, 933888)]), Is.Empty);
        // A simulated phase without a cgroup, or a kernel phase recorded before the counters: nothing to compare.
        Assert.That(Kit.Compare(oom, [new SimPhase("child", 0, 0, []) { Errors = ["SIGKILL"] }]), Is.Empty);
    }

    [Test]
    public void Compare_checks_memory_stat_pgpgin_and_pgpgout_at_each_phase_end_and_over_the_phase()
    {
        // Two phases: cumulative phase-end spreads 270–273 / 51–54, then 8,491–8,500 / 4,439–4,510, whose runs' own
        // differences were 8,220–8,228 and 4,388–4,456.
        static PhaseFigures Phase(string name, long inMin, long inMax, long outMin, long outMax) => new(name, new Spread(0, 0), new Spread(0, 0), [], true, [],
            new Dictionary<string, Spread>(), new Dictionary<string, Spread> { ["pgpgin"] = new(inMin, inMax), ["pgpgout"] = new(outMin, outMax), ["rss"] = new(0, 1) });
        var deltas = new Dictionary<string, Spread> { ["pgpgin"] = new(8220, 8228), ["pgpgout"] = new(4388, 4456) };
        var kernel = new ProgramFigures("p", 20, [Phase("map", 270, 273, 51, 54), Phase("fill", 8491, 8500, 4439, 4510) with { PgpgDelta = deltas }]);
        static SimPhase Sim(string name, long pgpgin, long pgpgout) => new(name, 0, 0, []) { Memcg = new Dictionary<string, long> { ["oom_kill"] = 0, ["pgpgin"] = pgpgin, ["pgpgout"] = pgpgout } };
        // 272 and 54, 8,495 and 4,450: inside; over the fill 8,223 and 4,396: inside (rss is recorded, not compared).
        Assert.That(Kit.Compare(kernel, [Sim("map", 272, 54), Sim("fill", 8495, 4450)]), Is.Empty);
        // 269 below the first phase's spread; the fill's difference 8,495 - 269 = 8,226 is inside its own.
        Assert.That(Kit.Compare(kernel, [Sim("map", 269, 54), Sim("fill", 8495, 4450)]), Is.EqualTo(new[] { "map: memory.stat pgpgin 269, kernel 270–273" }));
        // Every phase end inside, but 8,492 - 273 = 8,219 over the fill, below 8,220; 4,500 - 51 = 4,449 inside.
        Assert.That(Kit.Compare(kernel, [Sim("map", 273, 51), Sim("fill", 8492, 4500)]), Is.EqualTo(new[] { "fill: memory.stat pgpgin over the phase 8219, kernel 8,220–8,228" }));
        // 4,520 above the fill's end spread and 4,520 - 54 = 4,466 above its difference's.
        Assert.That(Kit.Compare(kernel, [Sim("map", 272, 54), Sim("fill", 8495, 4520)]), Has.Count.EqualTo(2)
            .And.One.EqualTo("fill: memory.stat pgpgout 4520, kernel 4,439–4,510").And.One.EqualTo("fill: memory.stat pgpgout over the phase 4466, kernel 4,388–4,456"));
        // A fixture recorded before the differences were kept: the phase ends alone.
        var old = new ProgramFigures("p", 20, [Phase("map", 270, 273, 51, 54), Phase("fill", 8491, 8500, 4439, 4510)]);
        Assert.That(Kit.Compare(old, [Sim("map", 273, 51), Sim("fill", 8492, 4500)]), Is.Empty);
        // A program without a group (memory.stat empty) or a simulated phase without one: nothing to compare.
        Assert.That(Kit.Compare(kernel, [new SimPhase("map", 0, 0, []), new SimPhase("fill", 0, 0, [])]), Is.Empty);
    }

    [Test]
    public void Compare_counts_pgpg_from_the_exec_where_the_runs_read_memory_stat_at_mains_entry()
    {
        // The same program recorded since session 22: since exec 214 / -3–0 at the map's end, 8,432–8,440 / 4,380–4,450 at
        // the fill's; the cumulative spreads (with the exec chain's 51–54 events) are kept but not compared.
        static PhaseFigures Phase(string name, long inMin, long inMax, long outMin, long outMax, Spread xin, Spread xout) => new(name, new Spread(0, 0), new Spread(0, 0), [], true, [],
            new Dictionary<string, Spread>(), new Dictionary<string, Spread> { ["pgpgin"] = new(inMin, inMax), ["pgpgout"] = new(outMin, outMax) })
        {
            PgpgExec = new Dictionary<string, Spread> { ["pgpgin"] = xin, ["pgpgout"] = xout },
        };
        var kernel = new ProgramFigures("p", 20, [Phase("map", 265, 268, 48, 54, new(214, 214), new(-3, 0)), Phase("fill", 8483, 8494, 4431, 4504, new(8432, 8440), new(4380, 4450))]);
        static SimPhase Sim(string name, long pgpgin, long pgpgout) => new(name, 0, 0, [])
        {
            Memcg = new Dictionary<string, long> { ["oom_kill"] = 0, ["pgpgin"] = pgpgin + 55, ["pgpgout"] = pgpgout + 55, ["pgpgin_exec"] = pgpgin, ["pgpgout_exec"] = pgpgout },
        };
        // EcsMem's own 214 / 0 and 8,435 / 4,400: inside, though 214 + 55 = 269 is above the cumulative 265–268.
        Assert.That(Kit.Compare(kernel, [Sim("map", 214, 0), Sim("fill", 8435, 4400)]), Is.Empty);
        // 8,431 since exec, one below.
        Assert.That(Kit.Compare(kernel, [Sim("map", 214, 0), Sim("fill", 8431, 4400)]), Is.EqualTo(new[] { "fill: memory.stat pgpgin since exec 8431, kernel 8,432–8,440" }));
    }

    [Test]
    public void Compare_checks_each_phases_pswpin_and_pswpout()
    {
        var kernel = new ProgramFigures("p", 20, [new PhaseFigures("fill", new Spread(0, 0), new Spread(0, 0), [], true, [], new Dictionary<string, Spread>(), new Dictionary<string, Spread>())
        {
            Pswp = new Dictionary<string, Spread> { ["pswpin"] = new(0, 3), ["pswpout"] = new(4090, 4130) },
        }]);
        static SimPhase Sim(long pswpin, long pswpout) => new("fill", 0, 0, []) { Pswp = new Dictionary<string, long> { ["pswpin"] = pswpin, ["pswpout"] = pswpout } };
        Assert.That(Kit.Compare(kernel, [Sim(0, 4100)]), Is.Empty);
        Assert.That(Kit.Compare(kernel, [Sim(3, 4130)]), Is.Empty, "the spread's ends are inside");
        Assert.That(Kit.Compare(kernel, [Sim(5, 4100)]), Is.EqualTo(new[] { "fill: pswpin 5, kernel 0–3" }));
        Assert.That(Kit.Compare(kernel, [Sim(0, 4089)]), Is.EqualTo(new[] { "fill: pswpout 4089, kernel 4,090–4,130" }));
        // Not recorded (a fixture from before session 21, a program without swap) or not simulated: not compared.
        Assert.That(Kit.Compare(kernel with { Phases = [kernel.Phases[0] with { Pswp = new Dictionary<string, Spread>() }] }, [Sim(5, 0)]), Is.Empty);
        Assert.That(Kit.Compare(kernel, [new SimPhase("fill", 0, 0, [])]), Is.Empty);
    }

    [Test]
    public void Random_pages_are_distinct_and_reproducible()
    {
        int[] a = ProgramPlan.RandomPagesOf(4096, 1024, 7), b = ProgramPlan.RandomPagesOf(4096, 1024, 7);
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a.Distinct().Count(), Is.EqualTo(1024));
        Assert.That(a.All(p => p is >= 0 and < 4096), Is.True);
        Assert.That(a, Is.Not.EqualTo(ProgramPlan.RandomPagesOf(4096, 1024, 8)));
    }

    [Test]
    public void A_bad_program_line_names_file_and_line()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bad-{Environment.ProcessId}.phases");
        File.WriteAllText(path, "describe x\nphase p\nmmap a anon 4Q rw private\n");
        try
        {
            var e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => new ProgramPlan(PhaseProgram.Parse(path)));
            Assert.That(e!.Message, Does.Contain(":3:").And.Contain("4Q"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>touch-sigbus ends the task in EcsMem, so it must be alone in the program's last phase.</summary>
    [TestCase("describe x\nphase p\nmemfd m 4K map 8K\nphase q\ntouch-sigbus m write 4K\ntouch m read\n", 6, "touch")]
    [TestCase("describe x\nphase p\nmemfd m 4K map 8K\ntouch-sigbus m write 4K\n", 4, "touch-sigbus")]
    [TestCase("describe x\nphase p\nmemfd m 4K map 8K\nphase q\ntouch-sigbus m read 4K\nphase r\n", 6, "phase")]
    public void Touch_sigbus_must_be_alone_in_the_last_phase(string text, int line, string value)
    {
        string path = Path.Combine(Path.GetTempPath(), $"sigbus-{Environment.ProcessId}-{line}-{value}.phases");
        File.WriteAllText(path, text);
        try
        {
            var e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => PhaseProgram.Parse(path));
            Assert.That(e!.Message, Does.Contain($":{line}:").And.Contain(value));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
