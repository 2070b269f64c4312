using EcsMem.Components;
using EcsMem.Diagnostics;

namespace EcsMem.Tests.AddressSpace;

public class ProcMapsTests
{
    private const MapFlags AnonPrivate = MapFlags.Private | MapFlags.Anonymous;

    [Test]
    public void PrintsLinesExactlyLikeShowMapVma()
    {
        var files = new FileTable();
        int cat = files.Intern("/usr/bin/cat", 0xfe, 0x00, 247270);
        var mm = new Mm(1, PagingMode.X86_64, files);
        mm.DoMmap(0x55d7_eb5f_7000, 0x5000, Prot.Read | Prot.Exec, MapFlags.Private | MapFlags.Fixed, cat, 2);
        mm.DoMmap(0x7f8e_424c_a000, 0xc4000, Prot.Read | Prot.Write, AnonPrivate | MapFlags.Fixed, -1, 0);
        mm.Struct.StartBrk = mm.Struct.Brk = 0x55d8_295b_4000;
        mm.DoBrk(0x55d8_295d_5000);

        // Prefix "55d7eb5f7000-55d7eb5fc000 r-xp 00002000 fe:00 247270 " is 53 characters: padded with 19
        // spaces to 72 (25 + 6 * 8 - 1), then one more space, so the path starts at column 73.
        string expected =
            "55d7eb5f7000-55d7eb5fc000 r-xp 00002000 fe:00 247270" + new string(' ', 21) + "/usr/bin/cat\n" +
            "55d8295b4000-55d8295d5000 rw-p 00000000 00:00 0" + new string(' ', 26) + "[heap]\n" +
            "7f8e424ca000-7f8e4258e000 rw-p 00000000 00:00 0 \n";
        Assert.That(ProcMaps.Format(mm), Is.EqualTo(expected));
        // The same lines as this machine's own /proc/self/maps showed them (copied from `cat -A`).
        Assert.That(expected, Does.StartWith("55d7eb5f7000-55d7eb5fc000 r-xp 00002000 fe:00 247270                     /usr/bin/cat\n"));
    }

    [Test]
    public void ThirtyTwoBitKernelsPadToColumn49()
    {
        var files = new FileTable();
        int a = files.Intern("/bin/a", 3, 1, 7);
        var mm = new Mm(1, PagingMode.X86_32, files);
        mm.DoMmap(0x0804_8000, 0x1000, Prot.Read | Prot.Exec, MapFlags.Private | MapFlags.Fixed, a, 0);
        // "08048000-08049000 r-xp 00000000 03:01 7 " = 40 characters; width 25 + 6 * 4 - 1 = 48: 8 spaces + 1.
        Assert.That(ProcMaps.Format(mm), Is.EqualTo("08048000-08049000 r-xp 00000000 03:01 7" + new string(' ', 10) + "/bin/a\n"));
    }

    [Test]
    public void ParsesFieldsIntoVmas()
    {
        const string text =
            "00400000-00402000 r-xp 00000000 103:02 1311 /opt/my prog (deleted)\n" +
            "00601000-00602000 rw-s 00001000 00:01 99                                 /memfd:x\n" +
            "7ffc84894000-7ffc848b5000 rw-p 00000000 00:00 0                          [stack]\n" +
            "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";
        var files = new FileTable();
        Mm mm = ProcMaps.Parse("t.maps", text, files);
        Assert.That(mm.Mode, Is.SameAs(PagingMode.X86_64));
        Assert.That(mm.Vmas.Count, Is.EqualTo(3));
        Vma prog = mm.Vmas[0];
        Assert.That(prog.Flags, Is.EqualTo(VmFlags.Read | VmFlags.Exec | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec));
        Assert.That(files[prog.FileId], Is.EqualTo(new MappedFile("/opt/my prog (deleted)", 0x103, 2, 1311)));
        Vma shared = mm.Vmas[1];
        Assert.That(shared.Flags & (VmFlags.Shared | VmFlags.MayShare | VmFlags.Write), Is.EqualTo(VmFlags.Shared | VmFlags.MayShare | VmFlags.Write));
        Assert.That(shared.PgOff, Is.EqualTo(1UL));
        Assert.That(mm.Vmas[2].Kind, Is.EqualTo(VmaKind.Stack));
        Assert.That(mm.Vmas[2].Flags & VmFlags.GrowsDown, Is.EqualTo(VmFlags.GrowsDown));
        // [vsyscall] is above TASK_SIZE: kept aside as the gate area, invisible to find_vma.
        Assert.That(mm.GateVma, Is.Not.Null);
        Assert.That(mm.Vmas.FindVma(0xFFFF_FFFF_FF60_0000), Is.EqualTo(-1));
        Assert.That(mm.Struct.MapCount, Is.EqualTo(3));
        Assert.That(mm.Struct.TotalVm, Is.EqualTo(2UL + 1 + 0x21));
    }

    [TestCase("00400000-00402000 r-xp 00000000 fe:00 12 /bin/x\n00401000-00403000 rw-p 00000000 00:00 0 \n",
        "maps.txt:2: VMA overlaps the previous VMA ending at 0x402000 (got '00401000-00403000 rw-p 00000000 00:00 0 ')")]
    [TestCase("00500000-00501000 r--p 00000000 00:00 0 \n00400000-00401000 r--p 00000000 00:00 0 \n",
        "maps.txt:2: VMAs are not sorted: starts below the previous VMA's start 0x500000 (got '00400000-00401000 r--p 00000000 00:00 0 ')")]
    [TestCase("00400000-00401000 rwzp 00000000 00:00 0 \n",
        "maps.txt:1: bad permissions 'rwzp', expected [r-][w-][x-][ps] (got '00400000-00401000 rwzp 00000000 00:00 0 ')")]
    [TestCase("\n0040g000-00401000 r--p 00000000 00:00 0 \n",
        "maps.txt:2: bad hexadecimal address range '0040g000-00401000' (got '0040g000-00401000 r--p 00000000 00:00 0 ')")]
    [TestCase("00400000-00401000 r--p\n",
        "maps.txt:1: expected 'start-end perms offset major:minor inode [name]' (got '00400000-00401000 r--p')")]
    [TestCase("00401000-00400000 r--p 00000000 00:00 0 \n",
        "maps.txt:1: VMA end is not above its start (got '00401000-00400000 r--p 00000000 00:00 0 ')")]
    [TestCase("00400000-00401000 r--p 0000zz00 00:00 0 \n",
        "maps.txt:1: bad hexadecimal offset '0000zz00' (got '00400000-00401000 r--p 0000zz00 00:00 0 ')")]
    [TestCase("00400000-00401000 r--p 00000000 0000 0 \n",
        "maps.txt:1: bad device '0000', expected major:minor in hexadecimal (got '00400000-00401000 r--p 00000000 0000 0 ')")]
    [TestCase("00400000-00401000 r--p 00000000 00:00 x1 \n",
        "maps.txt:1: bad inode number 'x1' (got '00400000-00401000 r--p 00000000 00:00 x1 ')")]
    [TestCase("00400800-00401000 r--p 00000000 00:00 0 \n",
        "maps.txt:1: VMA bounds are not page aligned (got '00400800-00401000 r--p 00000000 00:00 0 ')")]
    public void RejectsMalformedMapsWithExactMessages(string text, string message)
    {
        var ex = Assert.Throws<InputException>(() => ProcMaps.Parse("maps.txt", text, new FileTable()));
        Assert.That(ex!.Message, Is.EqualTo(message));
    }

    [Test]
    public void RejectsAreasAboveTaskSizeAndLinesAfterTheGate()
    {
        var ex = Assert.Throws<InputException>(() => ProcMaps.Parse("m", "c0000000-c0001000 r--p 00000000 00:00 0 \n", new FileTable(), PagingMode.X86_32));
        Assert.That(ex!.Problem, Is.EqualTo("VMA ends above TASK_SIZE 0xc0000000 of x86-32"));
        ex = Assert.Throws<InputException>(() => ProcMaps.Parse("m",
            "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n" +
            "ffffffffff602000-ffffffffff603000 r--p 00000000 00:00 0 \n", new FileTable()));
        Assert.That(ex!.Problem, Is.EqualTo("VMA after [vsyscall]; the gate area must be the last line"));
        Assert.That(ex.Line, Is.EqualTo(2));
    }

    [Test]
    public void RoundTripsThisProcessesOwnMaps()
    {
        string text = File.ReadAllText("/proc/self/maps");
        AssertRoundTrip("/proc/self/maps", text);
    }

    [Test]
    public void RoundTripsTheCommittedDotnetSample()
    {
        string path = FindSample("dotnet-sdk.maps");
        string text = File.ReadAllText(path);
        Mm mm = AssertRoundTrip(path, text);
        Assert.That(mm.Vmas.Count, Is.EqualTo(text.Count(c => c == '\n') - 1), "one VMA per line except [vsyscall]");
    }

    /// <summary>
    /// Import keeps every line as its own VMA, so printing reproduces the file byte for byte. Adjacent
    /// areas that our vma_merge rule would join are listed: Linux kept them apart for reasons the maps file
    /// does not show (different anon_vma after fork or mremap, different vm_userfaultfd_ctx, madvise flags
    /// such as VM_DONTDUMP or VM_HUGEPAGE that /proc/pid/maps does not print).
    /// </summary>
    private static Mm AssertRoundTrip(string source, string text)
    {
        var files = new FileTable();
        Mm mm = ProcMaps.Parse(source, text, files);
        Assert.That(ProcMaps.Format(mm), Is.EqualTo(text));
        for (int i = 0; i + 1 < mm.Vmas.Count; i++)
        {
            if (Mm.CanMerge(mm.Vmas[i], mm.Vmas[i + 1]))
            {
                TestContext.Out.WriteLine($"kept apart by Linux (hidden vm_flags or anon_vma differ): {mm.Vmas[i]} | {mm.Vmas[i + 1]}");
            }
        }

        return mm;
    }

    internal static string FindSample(string name)
    {
        string? dir = TestContext.CurrentContext.TestDirectory;
        while (dir is not null)
        {
            string candidate = Path.Combine(dir, "samples", "maps", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }

            dir = Path.GetDirectoryName(dir);
        }

        throw new FileNotFoundException($"samples/maps/{name} not found above {TestContext.CurrentContext.TestDirectory}");
    }
}
