using EcsMem.Cli;

namespace EcsMem.Tests;

public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void HelpListsUsage()
    {
        var (code, stdout, _) = Run("--help");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Does.Contain("Usage: ecsmem <command>"));
    }

    [Test]
    public void VersionPrintsTheAssemblyVersion()
    {
        var (code, stdout, _) = Run("--version");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout.Trim(), Is.EqualTo("ecsmem 0.1.0"));
    }

    [Test]
    public void UnknownCommandIsExitTwoWithOneClearLine()
    {
        var (code, stdout, stderr) = Run("frobnicate");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr.Trim(), Is.EqualTo("ecsmem: error: command line: unknown command (see 'ecsmem --help') (got 'frobnicate')"));
    }

    [Test]
    public void SizeParserUnderstandsBinarySuffixes()
    {
        Assert.That(EcsMem.Diagnostics.SizeParser.Parse("32K", "t", 0, "x"), Is.EqualTo(32 * 1024));
        Assert.That(EcsMem.Diagnostics.SizeParser.Parse("3072KiB", "t", 0, "x"), Is.EqualTo(3072 * 1024));
        Assert.That(EcsMem.Diagnostics.SizeParser.Parse("2G", "t", 0, "x"), Is.EqualTo(2L << 30));
        Assert.That(() => EcsMem.Diagnostics.SizeParser.Parse("12Q", "cfg.yaml", 7, "ram"),
            Throws.TypeOf<EcsMem.Diagnostics.InputException>().With.Message.EqualTo("cfg.yaml:7: ram is not a size (use e.g. 4096, 64K, 32M, 2G) (got '12Q')"));
    }
}
