using EcsMem.Diagnostics;
using EcsMem.Oracle;

// ecsmem-oracle: the kernel differential kit's tool (oracle/README.md).
//   gen [--check]               oracle/programs/*.phases → oracle/gen/NAME.c, NAME.yaml, NAME.lackey (--check: compare only)
//   collect [--add] RUNDIR SETTINGS  the recorded runs → oracle/fixtures.json (record.sh calls it); --add unions them with
//                               the programs' entries instead of replacing them (record.sh with ORACLE_ADD=1)
//   table [--write]             the README's "Matching the real tools" kit table from fixtures + simulation
//   eval PROGRAM...             simulate the named programs and print their differences from the fixtures
try
{
    string oracle = Kit.OracleDir(Directory.GetCurrentDirectory());
    string cmd = args.Length > 0 ? args[0] : "";
    switch (cmd)
    {
        case "gen":
            {
                bool check = args.Contains("--check");
                string gen = Path.Combine(oracle, "gen");
                Directory.CreateDirectory(gen);
                int stale = 0;
                foreach (PhaseProgram p in PhaseProgram.LoadAll(Path.Combine(oracle, "programs")))
                {
                    var plan = new ProgramPlan(p);
                    GeneratedScenario sc = ScenarioGenerator.Generate(plan);
                    var files = new List<(string, string)> { (p.Name + ".c", CGenerator.Generate(plan)), (p.Name + ".yaml", sc.Yaml), (p.Name + ".lackey", sc.Trace) };
                    if (sc.ChildTrace is not null)
                        files.Add((ScenarioGenerator.ChildTraceFile(p.Name), sc.ChildTrace));
                    foreach (var (file, text) in files)
                    {
                        string path = Path.Combine(gen, file);
                        if (check)
                        {
                            if (!File.Exists(path) || File.ReadAllText(path) != text)
                            {
                                Console.Error.WriteLine("stale: oracle/gen/" + file);
                                stale++;
                            }
                        }
                        else
                            File.WriteAllText(path, text);
                    }
                }
                return stale == 0 ? 0 : 1;
            }
        case "collect":
            {
                // --add: the runs are more runs of the programs' entries (unioned with them), not a re-recording.
                bool add = args.Length > 1 && args[1] == "--add";
                string[] rest = args.Skip(add ? 2 : 1).ToArray();
                if (rest.Length != 2)
                    throw new InputException("ecsmem-oracle", 0, string.Join(' ', args), "usage: collect [--add] RUNDIR SETTINGS");
                string outPath = Path.Combine(oracle, "fixtures.json");
                if (add && !File.Exists(outPath))
                    throw new InputException("ecsmem-oracle", 0, outPath, "collect --add: no fixtures file to add the runs to");
                Fixtures recorded = Fixtures.Collect(rest[0], rest[1]);
                // record.sh may record only some programs: the others keep their figures from the existing file.
                if (add)
                    recorded = Fixtures.Load(outPath).WithRunsAdded(recorded);
                else if (File.Exists(outPath))
                    recorded = Fixtures.Load(outPath).MergedWith(recorded);
                string json = recorded.ToJson();
                File.WriteAllText(outPath + ".tmp", json);
                File.Move(outPath + ".tmp", outPath, true);
                Console.WriteLine("wrote " + outPath);
                return 0;
            }
        case "table":
            {
                var fixtures = Fixtures.Load(Path.Combine(oracle, "fixtures.json"));
                var gaps = Kit.KnownGaps(Path.Combine(oracle, "known-gaps.md"));
                string scratch = Path.Combine(Path.GetTempPath(), "ecsmem-oracle-" + Environment.ProcessId);
                try
                {
                    var results = PhaseProgram.LoadAll(Path.Combine(oracle, "programs")).Select(p => Kit.Evaluate(p, fixtures, scratch)).ToList();
                    string table = Kit.Table(fixtures, results, gaps);
                    if (args.Contains("--write"))
                    {
                        string readme = Path.Combine(oracle, "..", "README.md");
                        File.WriteAllText(readme, Kit.WithTable(File.ReadAllText(readme), table));
                    }
                    else
                        Console.Write(table);
                }
                finally
                {
                    if (Directory.Exists(scratch))
                        Directory.Delete(scratch, true);
                }
                return 0;
            }
        case "eval":
            {
                // One program or a few: simulate and print what differs from the fixtures (the tests' comparison).
                var fixtures = Fixtures.Load(Path.Combine(oracle, "fixtures.json"));
                string scratch = Path.Combine(Path.GetTempPath(), "ecsmem-oracle-" + Environment.ProcessId);
                try
                {
                    var names = args.Skip(1).ToHashSet(StringComparer.Ordinal);
                    foreach (PhaseProgram p in PhaseProgram.LoadAll(Path.Combine(oracle, "programs")).Where(p => names.Contains(p.Name)))
                    {
                        var r = Kit.Evaluate(p, fixtures, scratch);
                        // A program that differs: how far its worst figure is outside the kernel's spread, as known-gaps.md's rows say it.
                        Console.WriteLine($"{p.Name}: {(r.Agrees ? "matches" : $"differs (worst {KnownGap.Format(r.WorstOutside)})")}");
                        foreach (string d in r.Differences)
                            Console.WriteLine("  " + d);
                        // ECSMEM_ORACLE_SHOW=1: every phase's simulated figures too (minflt, majflt, each VMA's Rss and Swap, and
                        // a swap program's pswpin/pswpout over the phase's stretch, a memcg program's pgpgin/pgpgout since exec).
                        if (OracleEnv.Flag("ECSMEM_ORACLE_SHOW", unset: false) && r.Sim is { } sim)
                            foreach (SimPhase s in sim)
                                Console.WriteLine($"  = {s.Name}: minflt {s.MinFlt} majflt {s.MajFlt} " + string.Join(' ', s.Vmas.Select(v => $"Rss {v.RssKb.Min} Swap {v.SwapKb.Min}"))
                                    + (s.Pswp is { } w ? $" pswpin {w["pswpin"]} pswpout {w["pswpout"]}" : "")
                                    + (s.Memcg is { } g && g.TryGetValue("pgpgin_exec", out long pin) ? $" pgpgin_exec {pin} pgpgout_exec {g["pgpgout_exec"]}" : ""));
                    }
                }
                finally
                {
                    if (Directory.Exists(scratch))
                        Directory.Delete(scratch, true);
                }
                return 0;
            }
        default:
            Console.Error.WriteLine("usage: ecsmem-oracle gen [--check] | collect [--add] RUNDIR SETTINGS | table [--write] | eval PROGRAM...");
            return 2;
    }
}
catch (InputException e)
{
    Console.Error.WriteLine("ecsmem-oracle: error: " + e.Message);
    return 2;
}
