using System.Text;
using EcsMem.Diagnostics;
using EcsMem.Scenarios;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Mutated scenarios through the whole front end: parse, build the machine and run a few hundred ticks with the
/// invariants checked after each. Bad input may only raise InputException; whatever is accepted must run
/// without any other exception and keep the kernel consistent.
/// </summary>
public class ScenarioFuzzRunTests
{
    // Host memory a fuzz case may ask for: mutations can turn 2M of RAM into 2G, which is valid but not small.
    private const long MaxRam = 64L << 20, MaxSwap = 256L << 20;

    private static readonly string[] Numbers = ["0", "1", "2", "3", "7", "64", "4095", "4097", "65536", "1000000", "4294967296", "18446744073709551615", "99999999999999999999", "-1", "0.5"];

    /// <summary>Replaces one number in the text (a size, count, address, seed...) by an odd one: keeps the YAML valid.</summary>
    private static string ReplaceANumber(string yaml, ref ReliabilityRng rng)
    {
        var matches = System.Text.RegularExpressions.Regex.Matches(yaml, "[0-9]+");
        var m = matches[rng.Below(matches.Count)];
        return yaml[..m.Index] + Numbers[rng.Below(Numbers.Length)] + yaml[(m.Index + m.Length)..];
    }

    // With one CPU as the scenarios say (but the threads scenario's two), and with every accepted scenario forced onto
    // 2 or 4 CPUs: fewer cases there, to keep the run time down.
    [TestCase(101UL, null, 600)]
    [TestCase(102UL, null, 600)]
    [TestCase(101UL, 2, 300)]
    [TestCase(102UL, 4, 300)]
    [TestCase(103UL, 4, 300)]
    public void MutatedScenariosParseBuildAndRunOrFailWithInputException(ulong seed, int? cpus, int cases)
    {
        byte[][] seeds = ReliabilityScenarios.All.Select(s => Encoding.UTF8.GetBytes(s.Yaml)).ToArray();
        int rejected = 0, ran = 0, tooBig = 0;
        var run = Task.Run(() =>
        {
            var rng = new ReliabilityRng(seed);
            for (int i = 0; i < cases; i++)
            {
                string text = i % 2 == 0
                    ? Encoding.UTF8.GetString(InputMutator.Mutate(seeds[i % seeds.Length], ref rng))
                    : ReplaceANumber(ReliabilityScenarios.All[i % seeds.Length].Yaml, ref rng);
                try
                {
                    Scenario s = ScenarioParser.Parse(new StringReader(text), "fuzz.yaml");
                    if (s.Machine.RamBytes > MaxRam || s.Machine.SwapBytes > MaxSwap)
                    {
                        tooBig++;
                        continue;
                    }
                    if (cpus is { } n)
                        s = s with { Machine = s.Machine with { Cpus = n } };
                    using var m = ScenarioLoader.Build(s);
                    int ticks = 0;
                    m.RunChecked(stop: () => ++ticks >= 300);
                    ran++;
                }
                catch (InputException)
                {
                    rejected++;
                }
                catch (Exception e) when (e is not AssertionException)
                {
                    throw new AssertionException($"case {i}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}\n--- scenario ---\n{text}", e);
                }
            }
        });
        Assert.That(run.Wait(TimeSpan.FromSeconds(120)), Is.True, "a case hung");
        run.GetAwaiter().GetResult();
        TestContext.Out.WriteLine($"seed {seed}, cpus {cpus?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "as written"}: {ran} ran, {rejected} rejected, {tooBig} skipped as too big for a test");
        Assert.That(ran, Is.GreaterThan(0));
        Assert.That(rejected, Is.GreaterThan(0));
    }
}
