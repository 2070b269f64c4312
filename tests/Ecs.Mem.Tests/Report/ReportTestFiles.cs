using System.Globalization;
using System.Text;
using EcsMem.Cli;

namespace EcsMem.Tests.Report;

/// <summary>A temporary folder for one test's inputs and outputs, and helpers to run the CLI in-process.</summary>
internal sealed class ReportTestFiles : IDisposable
{
    public ReportTestFiles()
    {
        Dir = Path.Combine(Path.GetTempPath(), "ecsmem-report-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
    }

    public string Dir { get; }

    public string PathOf(string name) => System.IO.Path.Combine(Dir, name);

    public string Write(string name, string text)
    {
        string p = PathOf(name);
        File.WriteAllText(p, text);
        return p;
    }

    /// <summary>A Lackey trace of <paramref name="n"/> stores, one to each of n consecutive pages from <paramref name="baseVa"/>.</summary>
    public string StoresToDistinctPages(string name, int n, ulong baseVa = 0x1000_0000)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < n; i++)
            sb.Append(CultureInfo.InvariantCulture, $" S {baseVa + (ulong)i * 4096:x},8\n");
        return Write(name, sb.ToString());
    }

    /// <summary>Files in the folder other than the inputs the test wrote (outputs, and any leftover temp file).</summary>
    public string[] FilesExcept(params string[] inputs) =>
        Directory.GetFiles(Dir).Select(System.IO.Path.GetFileName).Where(f => !inputs.Contains(f)).Order(StringComparer.Ordinal).ToArray()!;

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>The value printed after <paramref name="label"/> at the start of a line of the text report.</summary>
    public static string ValueAfter(string report, string label)
    {
        foreach (string line in report.Split('\n'))
            if (line.StartsWith(label, StringComparison.Ordinal))
                return line[label.Length..].Trim();
        throw new AssertionException($"no line starting with '{label}' in the report");
    }

    /// <summary>The row of the process table for <paramref name="name"/>, split on spaces.</summary>
    public static string[] ProcessRow(string report, string name)
    {
        int at = report.IndexOf("== processes ==", StringComparison.Ordinal);
        foreach (string line in report[at..].Split('\n').Skip(2))
        {
            string[] cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cols.Length > 2 && cols[1] == name)
                return cols;
        }
        throw new AssertionException($"no process row for '{name}'");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
