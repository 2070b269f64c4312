using EcsMem.Components;

namespace EcsMem.Tests.AddressSpace;

public class ExecLayoutTests
{
    [Test]
    public void SixtyFourBitLayoutMatchesTheHandComputedAddresses()
    {
        var files = new FileTable();
        int prog = files.Intern("/bin/prog", 0xfe, 0, 42);
        var mm = new Mm(1, PagingMode.X86_64, files);
        ExecLayout.Build(mm, new ExecImage
        {
            TextSize = 0x1234,
            DataSize = 0x500,
            BssSize = 0x3000,
            FileId = prog,
            Argv = new[] { "prog", "-x" }, // 5 + 3 = 8 bytes
            Envp = new[] { "A=1" },        // 4 bytes
        });
        ref MmStruct s = ref mm.Struct;

        // Text at 0x400000, two pages; data on the next page, file offset 2 pages.
        Assert.That((s.StartCode, s.EndCode), Is.EqualTo((0x40_0000UL, 0x40_1234UL)));
        Assert.That((s.StartData, s.EndData), Is.EqualTo((0x40_2000UL, 0x40_2500UL)));
        // bss: PAGE_ALIGN(0x402500) = 0x403000 .. PAGE_ALIGN(0x402500 + 0x3000) = 0x406000; heap starts there.
        Assert.That((s.StartBrk, s.Brk), Is.EqualTo((0x40_6000UL, 0x40_6000UL)));

        // Strings: top 0x7ffffffff000 - 8 = ...eff8; "/bin/prog\0" (10) -> ...efee = env_end;
        // env 4 bytes -> env_start = arg_end = ...efea; argv 8 bytes -> arg_start = ...efe2.
        Assert.That(s.EnvEnd, Is.EqualTo(0x7FFF_FFFF_EFEEUL));
        Assert.That((s.EnvStart, s.ArgEnd), Is.EqualTo((0x7FFF_FFFF_EFEAUL, 0x7FFF_FFFF_EFEAUL)));
        Assert.That(s.ArgStart, Is.EqualTo(0x7FFF_FFFF_EFE2UL));
        // sp: (efe2 - 16) & ~15 = efd0; words = argc 1 + argv 2+1 + envp 1+1 + auxv 40 = 46 -> 368 = 0x170;
        // efd0 - 170 = ee60 (already 16-aligned).
        Assert.That(s.StartStack, Is.EqualTo(0x7FFF_FFFF_EE60UL));
        // mmap_base = TASK_SIZE - 128 MiB.
        Assert.That(s.MmapBase, Is.EqualTo(0x7FFF_F7FF_F000UL));

        string[] expected =
        {
            "400000-402000 R, Exec File pgoff 0",
            "402000-403000 R, W File pgoff 2",
            "403000-406000 R, W Anonymous",
            // [vvar]+[vdso] = 6 pages right below mmap_base: 0x7ffff7ff9000.
            "7ffff7ff9000-7ffff7ffd000 R Special",
            "7ffff7ffd000-7ffff7fff000 R, Exec Special",
            // Stack: page of arg_start (0x7fffffffe000) - 128 KiB = 0x7ffffffde000 up to TASK_SIZE.
            "7ffffffde000-7ffffffff000 R, W Stack",
        };
        Assert.That(Describe(mm), Is.EqualTo(expected));
        Assert.That(mm.Struct.MapCount, Is.EqualTo(6));
        Assert.That(mm.Struct.TotalVm, Is.EqualTo(2UL + 1 + 3 + 4 + 2 + 0x21));
        Assert.That(mm.Struct.StackVm, Is.EqualTo(0x21UL));
    }

    [Test]
    public void ThirtyTwoBitLayoutMatchesTheHandComputedAddresses()
    {
        var files = new FileTable();
        int prog = files.Intern("/bin/a", 3, 1, 7);
        var mm = new Mm(1, PagingMode.X86_32, files);
        ExecLayout.Build(mm, new ExecImage { TextSize = 0x1234, FileId = prog, Argv = new[] { "a" }, MapVdso = false });
        ref MmStruct s = ref mm.Struct;

        Assert.That((s.StartCode, s.EndCode), Is.EqualTo((0x0804_8000UL, 0x0804_9234UL)));
        Assert.That((s.StartData, s.EndData, s.StartBrk), Is.EqualTo((0x0804_A000UL, 0x0804_A000UL, 0x0804_A000UL)));
        // top 0xc0000000 - 4 = 0xbffffffc; "/bin/a\0" (7) -> 0xbffffff5 = env_end = env_start (no env);
        // argv "a\0" -> arg_start = 0xbffffff3.
        Assert.That((s.ArgStart, s.ArgEnd, s.EnvStart, s.EnvEnd), Is.EqualTo((0xBFFF_FFF3UL, 0xBFFF_FFF5UL, 0xBFFF_FFF5UL, 0xBFFF_FFF5UL)));
        // sp: (fff3 - 16) & ~15 = ffe0; words = 1 + 2 + 1 + 40 = 44 -> 176 = 0xb0 with 4-byte pointers -> ff30.
        Assert.That(s.StartStack, Is.EqualTo(0xBFFF_FF30UL));
        Assert.That(s.MmapBase, Is.EqualTo(0xB800_0000UL));
        Assert.That(Describe(mm), Is.EqualTo(new[]
        {
            "8048000-804a000 R, Exec File pgoff 0",
            "bffdf000-c0000000 R, W Stack", // 0xbffff000 - 128 KiB
        }));
    }

    private static string[] Describe(Mm mm)
    {
        var list = new List<string>();
        foreach (Vma v in mm.Vmas)
        {
            string pg = v.Kind == VmaKind.File ? $" pgoff {v.PgOff}" : string.Empty;
            list.Add($"{v.Start:x}-{v.End:x} {v.Flags & VmFlags.AccessMask} {v.Kind}{pg}".Replace("Read", "R").Replace("Write", "W"));
        }

        return list.ToArray();
    }
}

public class ExecLayoutInputTests
{
    [Test]
    public void RejectsUnknownFilesAndOversizedArguments()
    {
        var files = new FileTable();
        int prog = files.Intern("/bin/p");
        var ex = Assert.Throws<EcsMem.Diagnostics.InputException>(() => ExecLayout.Build(new Mm(1, PagingMode.X86_64, files), new ExecImage { FileId = 3 }));
        Assert.That(ex!.Message, Is.EqualTo("exec image: the executable's file id is not in the file table (got '3')"));
        // 8 MiB / 4 = 2 MiB of strings at most: one 2 MiB argument plus its NUL is one byte too many.
        var big = new ExecImage { FileId = prog, Argv = new[] { new string('a', 2 << 20) } };
        ex = Assert.Throws<EcsMem.Diagnostics.InputException>(() => ExecLayout.Build(new Mm(1, PagingMode.X86_64, files), big));
        Assert.That(ex!.Problem, Is.EqualTo("arguments and environment exceed RLIMIT_STACK / 4 (E2BIG)"));
    }
}
