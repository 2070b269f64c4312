using EcsMem.Tests.Scenarios;

namespace EcsMem.Tests.Report;

/// <summary>
/// docs/report.md's "Example (`ecsmem run`, excerpt)" is the default run's own text: every line of it must be a line
/// the run prints today (a line ending in " ..." is a truncated one, a line "..." stands for lines left out). Two
/// lines of it had gone stale without any test noticing (the cycles breakdown's `switch` row and meminfo's `Cached`).
/// </summary>
public class ReportDocExcerptTests
{
    [Test]
    public void TheExcerptIsTheDefaultRunsOwnText()
    {
        var (code, text, err) = ReportTestFiles.Run("run", "--snapshot", "none");
        Assert.That(code, Is.EqualTo(0), err);
        var printed = text.Split('\n');
        var printedSet = new HashSet<string>(printed, StringComparer.Ordinal);

        string[] doc = File.ReadAllLines(Path.Combine(ScenarioTestFiles.RepoRoot(), "docs", "report.md"));
        int heading = Array.FindIndex(doc, l => l.StartsWith("## Example (`ecsmem run`, excerpt)", StringComparison.Ordinal));
        Assert.That(heading, Is.GreaterThan(0), "docs/report.md has no excerpt heading");
        int open = Array.FindIndex(doc, heading, l => l == "```");
        int close = Array.FindIndex(doc, open + 1, l => l == "```");
        Assert.That(close, Is.GreaterThan(open + 10), "the excerpt's fence");

        var stale = new List<string>();
        int checkedLines = 0;
        for (int i = open + 1; i < close; i++)
        {
            string line = doc[i];
            if (line.Trim() == "...")
                continue;
            checkedLines++;
            bool found = line.EndsWith(" ...", StringComparison.Ordinal)
                ? printed.Any(p => p.StartsWith(line[..^4], StringComparison.Ordinal))
                : printedSet.Contains(line);
            if (!found)
                stale.Add($"docs/report.md:{i + 1}: {line}");
        }
        Assert.That(checkedLines, Is.GreaterThan(50));
        Assert.That(stale, Is.Empty, "lines the default run no longer prints (regenerate the excerpt)");
    }
}
