using EcsMem.Components;
using EcsMem.Tests.Report;
using EcsMem.Traces;

namespace EcsMem.Tests.AddressSpace;

/// <summary><c>ecsmem explain</c>: address splits worked out by hand, the canonical and TASK_SIZE edges, a walk of a scenario's page tables.</summary>
public class ExplainTests
{
    private static ulong[] Indices(AddressSplit s) => s.Indices.Select(f => f.Value).ToArray();

    [Test]
    public void X86TwoLevelSplitOfAKernelAddress()
    {
        // 0xC0123456 = 1100000000 0100100011 010001010110: PGD 0b1100000000 = 0x300 = 768, PTE 0b0100100011 = 0x123 = 291, offset 0x456 = 1110.
        AddressSplit s = AddressSplit.Of(0xC012_3456, PagingMode.X86_32);
        Assert.That(s.Indices.Select(f => f.Name), Is.EqualTo(new[] { "PGD", "PTE" }));
        Assert.That(Indices(s), Is.EqualTo(new ulong[] { 768, 291 }));
        Assert.That(s.Offset, Is.EqualTo(0x456UL));
        Assert.That(s.Fields.Select(f => (f.High, f.Low)), Is.EqualTo(new[] { (31, 22), (21, 12), (11, 0) }));
        Assert.That(s.IsUser, Is.False); // at PAGE_OFFSET 0xC0000000 and above: the kernel's 1 GiB
        Assert.That(s.IsCanonical, Is.True);
        // Entry spans: a page-directory entry covers 1024 pages = 4 MiB, a PTE one 4 KiB page.
        Assert.That(s.Indices.Select(f => f.EntrySpan), Is.EqualTo(new ulong[] { 4UL << 20, 4096 }));
        string d = s.Describe();
        Assert.That(d, Does.Contain("0x300").And.Contain("768").And.Contain("0x123").And.Contain("291").And.Contain("0x456").And.Contain("1110"));
        Assert.That(d, Does.Contain("each covers 4 MiB"));
        Assert.That(d, Does.Contain("__pa = 0x123456")); // 0xC0123456 - PAGE_OFFSET
    }

    [Test]
    public void X86_64SplitWithEveryIndexDifferent()
    {
        // (1 << 39) | (2 << 30) | (3 << 21) | (4 << 12) | 5 = 0x80_0000_0000 + 0x8000_0000 + 0x60_0000 + 0x4000 + 5.
        AddressSplit s = AddressSplit.Of(0x80_8060_4005, PagingMode.X86_64);
        Assert.That(s.Indices.Select(f => f.Name), Is.EqualTo(new[] { "PGD", "PUD", "PMD", "PTE" }));
        Assert.That(Indices(s), Is.EqualTo(new ulong[] { 1, 2, 3, 4 }));
        Assert.That(s.Offset, Is.EqualTo(5UL));
        Assert.That(s.Fields.Select(f => (f.High, f.Low)), Is.EqualTo(new[] { (63, 48), (47, 39), (38, 30), (29, 21), (20, 12), (11, 0) }));
        Assert.That(s.Indices.Select(f => f.EntrySpan), Is.EqualTo(new ulong[] { 512UL << 30, 1UL << 30, 2UL << 20, 4096 }));
        Assert.That(s.IsUser && s.IsCanonical, Is.True);
        string d = s.Describe();
        Assert.That(d, Does.Contain("each covers 512 GiB").And.Contain("each covers 1 GiB").And.Contain("each covers 2 MiB").And.Contain("maps one 4 KiB page"));
    }

    [Test]
    public void La57SplitAddsP4d()
    {
        // (5 << 48) | (4 << 39) | (3 << 30) | (2 << 21) | (1 << 12) | 0xabc
        //   = 0x5_0000_0000_0000 + 0x200_0000_0000 + 0xC000_0000 + 0x40_0000 + 0x1000 + 0xabc.
        AddressSplit s = AddressSplit.Of(0x5_0200_C040_1abc, PagingMode.X86_64_5Level);
        Assert.That(s.Indices.Select(f => f.Name), Is.EqualTo(new[] { "PGD", "P4D", "PUD", "PMD", "PTE" }));
        Assert.That(Indices(s), Is.EqualTo(new ulong[] { 5, 4, 3, 2, 1 }));
        Assert.That(s.Offset, Is.EqualTo(0xabcUL));
        Assert.That(s.Fields[0], Is.EqualTo(new AddressField("sign", 63, 57, 0, -2, 0)));
        Assert.That(s.Indices.First().EntrySpan, Is.EqualTo(256UL << 40)); // 2^48 = 256 TiB per PGD entry
        Assert.That(s.Describe(), Does.Contain("each covers 256 TiB"));
    }

    [Test]
    public void CanonicalAndTaskSizeEdges()
    {
        // x86-64: TASK_SIZE = 2^47 - 4096; 0x7ffffffff000 .. 2^47 - 1 is the guard page: canonical but not user.
        Assert.That(AddressSplit.Of(0x7fff_ffff_efff, PagingMode.X86_64).IsUser, Is.True);
        AddressSplit guard = AddressSplit.Of(0x7fff_ffff_f000, PagingMode.X86_64);
        Assert.That(guard.IsUser, Is.False);
        Assert.That(guard.IsCanonical, Is.True);
        Assert.That(AddressSplit.Of(0x8000_0000_0000, PagingMode.X86_64).IsCanonical, Is.False);       // bit 47 set, 63..48 clear
        Assert.That(AddressSplit.Of(0xfffe_8000_0000_0000, PagingMode.X86_64).IsCanonical, Is.False);  // bit 48 clear
        Assert.That(AddressSplit.Of(0xffff_8000_0000_0000, PagingMode.X86_64).IsCanonical, Is.True);   // lowest kernel address
        Assert.That(AddressSplit.Of(0x8000_0000_0000, PagingMode.X86_64).Region(), Does.StartWith("not canonical"));
        // LA57: 2^47 is an ordinary user address; TASK_SIZE = 2^56 - 4096.
        Assert.That(AddressSplit.Of(0x8000_0000_0000, PagingMode.X86_64_5Level).IsUser, Is.True);
        Assert.That(AddressSplit.Of(0xff_ffff_ffff_f000, PagingMode.X86_64_5Level).IsUser, Is.False);
        Assert.That(AddressSplit.Of(0x100_0000_0000_0000, PagingMode.X86_64_5Level).IsCanonical, Is.False); // bit 56 set, 63..57 clear
        // x86 3G/1G: 0xBFFFFFFF is the last user byte, 0xC0000000 the first kernel one.
        Assert.That(AddressSplit.Of(0xBFFF_FFFF, PagingMode.X86_32).IsUser, Is.True);
        Assert.That(AddressSplit.Of(0xC000_0000, PagingMode.X86_32).IsUser, Is.False);
    }

    [Test]
    public void ClassifyFollowsTheFaultHandlersRules()
    {
        var anon = new Vma { Start = 0x1000, End = 0x3000, Flags = VmFlags.Read | VmFlags.Write | VmFlags.MayRead | VmFlags.MayWrite, FileId = -1, Kind = VmaKind.Anonymous };
        var file = anon with { Kind = VmaKind.File, FileId = 0 };
        var shared = anon with { Flags = anon.Flags | VmFlags.Shared | VmFlags.MayShare };
        var readOnly = anon with { Flags = VmFlags.Read | VmFlags.MayRead };
        ulong roPresent = Pte.PresentBit | Pte.UserBit | Pte.AccessedBit | (7UL << Pte.PageShift);
        ulong swap = new SwapEntry(0, 42).ToPteValue();
        Assert.That(FaultHandlingSystem.Classify(anon, 0, AccessKind.Load, useZeroPage: true), Is.EqualTo(FaultPath.ZeroPage));
        Assert.That(FaultHandlingSystem.Classify(anon, 0, AccessKind.Load, useZeroPage: false), Is.EqualTo(FaultPath.AnonNew));
        Assert.That(FaultHandlingSystem.Classify(anon, 0, AccessKind.Store, useZeroPage: true), Is.EqualTo(FaultPath.AnonNew));
        Assert.That(FaultHandlingSystem.Classify(shared, 0, AccessKind.Load, useZeroPage: true), Is.EqualTo(FaultPath.AnonNew));
        Assert.That(FaultHandlingSystem.Classify(file, 0, AccessKind.Load, useZeroPage: true), Is.EqualTo(FaultPath.FileFault));
        Assert.That(FaultHandlingSystem.Classify(anon, swap, AccessKind.Load, useZeroPage: true), Is.EqualTo(FaultPath.SwapPage));
        Assert.That(FaultHandlingSystem.Classify(anon, roPresent, AccessKind.Store, useZeroPage: true), Is.EqualTo(FaultPath.WriteProtect));
        Assert.That(FaultHandlingSystem.Classify(shared, roPresent, AccessKind.Store, useZeroPage: true), Is.EqualTo(FaultPath.SharedWrite));
        Assert.That(FaultHandlingSystem.Classify(anon, roPresent, AccessKind.Load, useZeroPage: true), Is.EqualTo(FaultPath.Spurious));
        Assert.That(FaultHandlingSystem.Classify(readOnly, 0, AccessKind.Store, useZeroPage: true), Is.EqualTo(FaultPath.SegvAccess));
        Assert.That(FaultHandlingSystem.Classify(anon, Pte.ProtNoneBit | (7UL << Pte.PageShift), AccessKind.Load, useZeroPage: true), Is.EqualTo(FaultPath.SegvProtNone));
    }

    [Test]
    public void SplitCommandPrintsTheFigure()
    {
        var (code, stdout, stderr) = ReportTestFiles.Run("explain", "0xC0123456", "--paging", "x86");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("| PGD ").Or.Contain(" PGD "));
        Assert.That(stdout, Does.Contain(" 31 ").Or.StartWith(" 31"));
        Assert.That(stdout, Does.Contain("kernel address (3G/1G split"));
    }

    [TestCase("zz", "not an address")]
    [TestCase("0x100000000", "not a 32-bit address", "--paging", "x86")]
    [TestCase("0x1000", "--paging must be", "--paging", "arm")]
    [TestCase("0x1000", "--at needs --scenario", "--at", "5")]
    public void BadInputIsOneLineAndExitTwo(string address, string message, params string[] rest)
    {
        var (code, stdout, stderr) = ReportTestFiles.Run(["explain", address, .. rest]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Does.StartWith("ecsmem: error: ").And.Contain(message));
        Assert.That(stderr.TrimEnd('\n'), Does.Not.Contain('\n'));
    }

    /// <summary>
    /// exec layout on x86-64 with text 8K, data 4K, bss 8K: text 0x400000-0x402000, data (file, rw-p) 0x402000-0x403000,
    /// bss (anonymous rw-p) 0x403000-0x405000, the heap after it. The trace reads the data page, then writes the bss
    /// page 0x403000; two more accesses keep the process alive past the moment --at 2a stops at.
    /// </summary>
    private static string Scenario(ReportTestFiles f)
    {
        f.Write("t.lackey", " L 00402008,8\n S 00403010,8\n L 00402010,8\n S 00403020,8\n");
        return f.Write("s.yaml",
            "description: explain walk\nmachine:\n  ram: 1M\n  swap: 0\nprocesses:\n  - name: p\n    layout:\n" +
            "      exec: {text: 8K, data: 4K, bss: 8K, heap: 8K}\n    workload:\n      trace: {path: t.lackey, format: lackey}\n");
    }

    private static string Walk(ReportTestFiles f, string address, string at = "2a", string pid = "1")
    {
        var (code, stdout, stderr) = ReportTestFiles.Run("explain", address, "--scenario", Scenario(f), "--at", at, "--pid", pid);
        Assert.That(code, Is.EqualTo(0), stderr);
        return stdout;
    }

    [Test]
    public void WalkOfAWrittenPage()
    {
        using var f = new ReportTestFiles();
        // 0x403010: PGD 0, PUD 0, PMD 0x403010 >> 21 = 2, PTE (0x403010 >> 12) & 511 = 0x403 & 0x1ff = 3, offset 0x10.
        string o = Walk(f, "0x403010");
        Assert.That(o, Does.Contain("stopped at").And.Contain("after 2 accesses"));
        Assert.That(o, Does.Match(@"PGD +table id 0 .* entry \[0\] = "));
        Assert.That(o, Does.Match(@"PUD +table id \d+ .* entry \[0\] = "));
        Assert.That(o, Does.Match(@"PMD +table id \d+ .* entry \[2\] = "));
        // Written by the second access: an anonymous write fault maps a new frame writable and dirty; bss is not exec (NX).
        Assert.That(o, Does.Match(@"PTE +table id \d+ .* entry \[3\] = 0x8[0-9a-f]{15}\n +flags: P RW US A D NX\n"));
        Assert.That(o, Does.Contain("VMA: 00403000-00405000 rw-p 00000000 00:00 0"));
        Assert.That(o, Does.Contain("read: no fault").And.Contain("write: no fault"));
    }

    [Test]
    public void WalkOfAReadFilePage()
    {
        using var f = new ReportTestFiles();
        // 0x402010: PTE index 0x402 & 0x1ff = 2; read once: present, accessed, not dirty, read-only (private file page).
        string o = Walk(f, "0x402010");
        Assert.That(o, Does.Match(@"entry \[2\] = 0x[0-9a-f]{16}\n +flags: P RO US A NX\n"));
        Assert.That(o, Does.Contain("rw-p 00002000")); // the data segment follows 8 KiB of text in the file
        Assert.That(o, Does.Contain("write: do_wp_page (copy-on-write)"));
    }

    [Test]
    public void WalkOfAnUntouchedPageInAVma()
    {
        using var f = new ReportTestFiles();
        // 0x404000: the second bss page, never touched; same PTE table as 0x403000, entry 4.
        string o = Walk(f, "0x404000");
        Assert.That(o, Does.Contain("entry [4] = 0x0000000000000000"));
        Assert.That(o, Does.Contain("flags: none"));
        Assert.That(o, Does.Contain("VMA: 00403000-00405000 rw-p"));
        Assert.That(o, Does.Contain("read: do_anonymous_page").And.Contain("zero page"));
        Assert.That(o, Does.Contain("write: do_anonymous_page: allocates a zeroed frame"));
    }

    [Test]
    public void WalkOfAnAddressInNoVma()
    {
        using var f = new ReportTestFiles();
        // 0x20000000: PMD index 0x20000000 >> 21 = 0x100 = 256, never populated: the walk stops at the PMD.
        string o = Walk(f, "0x20000000");
        Assert.That(o, Does.Contain("entry [256] = 0x0000000000000000"));
        Assert.That(o, Does.Contain("no PTE table: the walk stops here"));
        Assert.That(o, Does.Not.Match(@"\n  PTE +table id"));
        Assert.That(o, Does.Contain("VMA: no VMA covers this address"));
        Assert.That(o, Does.Contain("read: SIGSEGV").And.Contain("write: SIGSEGV"));
    }

    [Test]
    public void WalkAtTheEndFindsTheTablesFreed()
    {
        using var f = new ReportTestFiles();
        string o = Walk(f, "0x403010", at: "end");
        Assert.That(o, Does.Contain("exited").And.Contain("page tables: none"));
    }

    [TestCase("0x1000", "no process with this pid", "--at", "2a", "--pid", "9")]
    [TestCase("0x800000000000", "TASK_SIZE", "--at", "2a", "--pid", "1")]
    [TestCase("0x1000", "--at needs N", "--at", "2b", "--pid", "1")]
    public void ScenarioBadInput(string address, string message, params string[] rest)
    {
        using var f = new ReportTestFiles();
        var (code, _, stderr) = ReportTestFiles.Run(["explain", address, "--scenario", Scenario(f), .. rest]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.StartWith("ecsmem: error: ").And.Contain(message));
    }

    [Test]
    public void MissingScenarioFile()
    {
        var (code, _, stderr) = ReportTestFiles.Run("explain", "0x1000", "--scenario", "/nonexistent/s.yaml", "--at", "1", "--pid", "1");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("scenario file not found"));
    }
}
