using EcsMem.Diagnostics;
using EcsMem.Scenarios;

namespace EcsMem.Tests.Scenarios;

/// <summary>
/// Mangled scenario files either parse or fail with an InputException — never another exception type,
/// which the CLI would show as a crash.
/// </summary>
public class ScenarioFuzzTests
{
    private const string Alphabet = " :-{}[],'\"#&*!|>\n\t0x7fK_abc-1.";

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void MutatedExampleNeverCrashes(int seed)
    {
        string[] originals = [File.ReadAllText(Path.Combine(ScenarioTestFiles.RepoRoot(), "samples", "scenarios", "example.yaml")), DefaultScenario.Yaml];
        var rng = new Random(seed);
        int parsed = 0, rejected = 0;
        for (int round = 0; round < 400; round++)
        {
            var text = new System.Text.StringBuilder(originals[round % 2]);
            int edits = 1 + rng.Next(4);
            for (int k = 0; k < edits; k++)
            {
                int at = rng.Next(text.Length);
                switch (rng.Next(3))
                {
                    case 0: text.Remove(at, 1 + rng.Next(Math.Min(8, text.Length - at))); break;
                    case 1: text.Insert(at, Alphabet[rng.Next(Alphabet.Length)]); break;
                    default: text[at] = Alphabet[rng.Next(Alphabet.Length)]; break;
                }
            }
            try
            {
                ScenarioParser.Parse(new StringReader(text.ToString()), "fuzz.yaml");
                parsed++;
            }
            catch (InputException e)
            {
                Assert.That(e.Origin, Is.EqualTo("fuzz.yaml"));
                rejected++;
            }
        }
        // Both outcomes occur, so the mutations exercise the validation and not only the YAML reader.
        Assert.That(rejected, Is.GreaterThan(0));
        Assert.That(parsed, Is.GreaterThan(0));
        Assert.That(parsed + rejected, Is.EqualTo(400));
    }
}
