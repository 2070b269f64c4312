using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using EcsMem.Diagnostics;

namespace EcsMem.Tests.Packaging;

/// <summary>
/// The NuGet packages as a user gets them: <c>dotnet pack</c> of the two libraries (from this build), their symbol
/// packages read with System.Reflection.Metadata (every source document embedded, deterministic /_/ paths, Source
/// Link), their nuspec (repository URL and commit), and the README's library example built and run against them.
/// </summary>
[NonParallelizable]
public class PackagingTests
{
    private static string _dir = "";

    /// <summary>The packages folder the README's nuget.config points at (../artifacts/packages from the app).</summary>
    private static string Packages => Path.Combine(_dir, "artifacts", "packages");

    private static string Configuration =>
        TestContext.CurrentContext.TestDirectory.Split(Path.DirectorySeparatorChar).Contains("Debug") ? "Debug" : "Release";

    [OneTimeSetUp]
    public static void Pack()
    {
        _dir = Directory.CreateTempSubdirectory("ecsmem-pack-").FullName;
        foreach (string project in new[] { "Ecs.Mem", "Ecs.Mem.Systems" })
        {
            var (code, output) = Dotnet(Scenarios.ScenarioTestFiles.RepoRoot(), "pack", Path.Combine("src", project, project + ".csproj"),
                "-c", Configuration, "--no-build", "-o", Packages);
            Assert.That(code, Is.EqualTo(0), output);
        }
    }

    [OneTimeTearDown]
    public static void Clean()
    {
        if (_dir.Length > 0)
            Directory.Delete(_dir, recursive: true);
    }

    [TestCase("Ecs.Mem")]
    [TestCase("Ecs.Mem.Systems")]
    public void ThePdbEmbedsEverySourceDocumentUnderDeterministicPaths(string project)
    {
        using ZipArchive snupkg = ZipFile.OpenRead(Path.Combine(Packages, $"{project}.0.1.0.snupkg"));
        using var pdbStream = new MemoryStream();
        using (Stream s = snupkg.GetEntry($"lib/net10.0/{project}.pdb")!.Open())
            s.CopyTo(pdbStream);
        pdbStream.Position = 0;
        using MetadataReaderProvider provider = MetadataReaderProvider.FromPortablePdbStream(pdbStream);
        MetadataReader pdb = provider.GetMetadataReader();
        var embeddedSource = new Guid("0E8A571B-6926-466E-B4AD-8AB04611F5FE");
        var sourceLink = new Guid("CC110556-A091-4D38-9FEC-25AB9A351A6A");

        var documents = new List<(string Name, bool Embedded)>();
        foreach (DocumentHandle h in pdb.Documents)
        {
            bool embedded = pdb.GetCustomDebugInformation(h).Any(c => pdb.GetGuid(pdb.GetCustomDebugInformation(c).Kind) == embeddedSource);
            documents.Add((pdb.GetString(pdb.GetDocument(h).Name), embedded));
        }
        Assert.That(documents.Where(d => !d.Embedded).Select(d => d.Name), Is.Empty, "documents without embedded source");
        Assert.That(documents.Where(d => !d.Name.StartsWith("/_/", StringComparison.Ordinal)).Select(d => d.Name), Is.Empty, "non-deterministic paths");

        // Every .cs file of the project on disk is a document (and nothing from another project).
        string root = Scenarios.ScenarioTestFiles.RepoRoot();
        string src = Path.Combine(root, "src", project);
        var onDisk = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => "/_/" + Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .ToHashSet();
        var inPdb = documents.Select(d => d.Name).Where(n => !n.Contains("/obj/", StringComparison.Ordinal)).ToHashSet();
        Assert.That(inPdb, Is.EquivalentTo(onDisk));
        Assert.That(onDisk, Has.Count.GreaterThan(project == "Ecs.Mem" ? 20 : 100));

        // Source Link maps /_/ to the repository at this build's commit.
        BlobHandle link = pdb.GetCustomDebugInformation(EntityHandle.ModuleDefinition)
            .Select(c => pdb.GetCustomDebugInformation(c)).Single(c => pdb.GetGuid(c.Kind) == sourceLink).Value;
        string json = System.Text.Encoding.UTF8.GetString(pdb.GetBlobBytes(link));
        string commit = BuildInfo.Commit;
        if (commit != "unknown")
            Assert.That(json, Does.Contain($"\"/_/*\":\"https://raw.githubusercontent.com/ecsmem/ecsmem/{commit}/*\""));
    }

    [TestCase("Ecs.Mem")]
    [TestCase("Ecs.Mem.Systems")]
    public void TheNuspecNamesTheRepository(string project)
    {
        using ZipArchive nupkg = ZipFile.OpenRead(Path.Combine(Packages, $"{project}.0.1.0.nupkg"));
        using Stream s = nupkg.GetEntry($"{project}.nuspec")!.Open();
        XDocument nuspec = XDocument.Load(s);
        XElement repo = nuspec.Descendants().Single(e => e.Name.LocalName == "repository");
        Assert.That(repo.Attribute("type")?.Value, Is.EqualTo("git"));
        Assert.That(repo.Attribute("url")?.Value, Is.EqualTo("https://github.com/ecsmem/ecsmem"));
        // The nuspec's commit is git's HEAD when the pack ran (--no-build: the assemblies may be of an earlier commit).
        if (BuildInfo.Commit != "unknown")
            Assert.That(repo.Attribute("commit")?.Value, Is.EqualTo(GitHead()));
        Assert.That(nupkg.Entries.Select(e => e.FullName), Does.Contain("README.md"));
    }

    [Test]
    public void TheReadmeLibraryExampleBuildsAndRunsAgainstThePackages()
    {
        string readme = File.ReadAllText(Path.Combine(Scenarios.ScenarioTestFiles.RepoRoot(), "README.md"));
        string app = Path.Combine(_dir, "mru");
        Directory.CreateDirectory(app);
        foreach (string file in new[] { "nuget.config", "mru.csproj", "Program.cs" })
        {
            Match m = Regex.Match(readme, $@"<!-- readme-example: {Regex.Escape(file)} -->\n```\w+\n(.*?)\n```", RegexOptions.Singleline);
            Assert.That(m.Success, Is.True, $"README has no {file} block");
            string text = m.Groups[1].Value;
            if (file == "nuget.config")
            {
                // The test's own additions: its packages extracted under the app (a stale Ecs.Mem.Systems 0.1.0 in the
                // user's cache must not be taken), everything else found in the user's cache without the network.
                string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                               ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
                text = text.Replace("</configuration>", $"""
                      <config><add key="globalPackagesFolder" value="{Path.Combine(app, "packages")}" /></config>
                      <fallbackPackageFolders><add key="cache" value="{cache}" /></fallbackPackageFolders>
                    </configuration>
                    """, StringComparison.Ordinal);
            }
            File.WriteAllText(Path.Combine(app, file), text + "\n");
        }
        var (code, output) = Dotnet(app, "run", "-c", "Release");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.EndWith("faults: 7\n"));
    }

    private static string GitHead()
    {
        var psi = new ProcessStartInfo("git", ["rev-parse", "HEAD"]) { WorkingDirectory = Scenarios.ScenarioTestFiles.RepoRoot(), RedirectStandardOutput = true };
        using Process p = Process.Start(psi)!;
        string head = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return head;
    }

    private static (int Code, string Output) Dotnet(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        // Outside the repository's Directory.Build.props / Packages.props (the app is in a temp folder anyway).
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment.Remove("MSBuildExtensionsPath");
        psi.Environment.Remove("MSBUILD_EXE_PATH");
        using Process p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o + err.Result);
    }
}
