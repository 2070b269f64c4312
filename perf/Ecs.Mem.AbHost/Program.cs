using System.Reflection;
using System.Runtime.Loader;

// In-process A/B comparison of builds of the ECS core (perf/ab.sh builds them). Each build is a folder
// holding Ecs.Mem.AbBench.dll and the Ecs.Mem.dll it was compiled against; each is loaded into its own
// AssemblyLoadContext, and rounds alternate between them, so the noise of a shared VM (±30 % between
// BenchmarkDotNet runs here) falls on every build alike. Prints the median and quartile of each figure,
// then each later build's within-round ratio to the first build (median, p25, p75).

if (args.Length < 2 || !int.TryParse(args[0], out int rounds) || rounds < 1)
{
    Console.Error.WriteLine("usage: Ecs.Mem.AbHost ROUNDS BUILD_DIR [BUILD_DIR ...]");
    return 2;
}

var builds = new List<(string Name, Func<double[]> Round, string[] Figures)>();
foreach (string dir in args.Skip(1))
{
    string full = Path.GetFullPath(dir);
    // The ECS workload builds as Ecs.Mem.AbBench; the pipeline workload as Ecs.Mem.Perf (for the trees' internals).
    string bench = Path.Combine(full, "Ecs.Mem.AbBench.dll");
    if (!File.Exists(bench))
        bench = Path.Combine(full, "Ecs.Mem.Perf.dll");
    if (!File.Exists(bench))
    {
        Console.Error.WriteLine($"error: {bench} not found (build it with perf/ab.sh)");
        return 2;
    }
    var context = new AssemblyLoadContext(full);
    context.Resolving += (ctx, name) =>
    {
        string path = Path.Combine(full, name.Name + ".dll");
        return File.Exists(path) ? ctx.LoadFromAssemblyPath(path) : null;
    };
    Type workload = context.LoadFromAssemblyPath(bench).GetType("EcsMem.Perf.Ab.AbWorkload", throwOnError: true)!;
    MethodInfo round = workload.GetMethod("Round")!;
    var figures = (string[])workload.GetProperty("Figures")!.GetValue(null)!;
    builds.Add((Path.GetFileName(full), () => (double[])round.Invoke(null, null)!, figures));
}

const int Warmup = 5;
var results = builds.Select(_ => new List<double[]>()).ToArray();
for (int r = 0; r < rounds + Warmup; r++)
{
    for (int b = 0; b < builds.Count; b++)
    {
        double[] x = builds[b].Round();
        if (r >= Warmup)
            results[b].Add(x);
    }
}

for (int b = 0; b < builds.Count; b++)
{
    var cells = builds[b].Figures.Select((f, k) =>
    {
        var v = results[b].Select(x => x[k]).Order().ToList();
        return $"{f} {v[v.Count / 2]:F1} (p25 {v[v.Count / 4]:F1})";
    });
    Console.WriteLine($"{builds[b].Name,-12} ns: {string.Join(" | ", cells)}");
}

// The within-round ratio of each later build's figure to the first build's (rounds alternate, so a round's two runs
// share the machine's load of that moment): median and the p25–p75 spread.
for (int b = 1; b < builds.Count; b++)
{
    var cells = builds[b].Figures.Select((f, k) =>
    {
        var v = results[b].Zip(results[0], (x, y) => x[k] / y[k]).Order().ToList();
        return $"{f} {v[v.Count / 2]:F3}x (p25 {v[v.Count / 4]:F3}, p75 {v[v.Count * 3 / 4]:F3})";
    });
    Console.WriteLine($"{builds[b].Name + "/" + builds[0].Name,-12} ratio: {string.Join(" | ", cells)}");
}
return 0;
