using System.Text;
using EcsMem.Components;
using EcsMem.Diagnostics;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// The address-space half of exec (load_elf_binary + setup_arg_pages + create_elf_tables) for a static,
/// non-PIE executable with ASLR off, producing the classic figure:
/// <code>
/// TASK_SIZE  ┌──────────────┐ stack top (STACK_TOP = TASK_SIZE)
///            │ filename     │
///            │ env strings  │ env_start..env_end
///            │ arg strings  │ arg_start..arg_end
///            │ argc/argv/.. │ start_stack (16-byte aligned)
///            │ [stack] ↓    │ 128 KiB below the strings' page at first
///            ├──────────────┤ ≥ stack rlimit + guard gap (clamped to [128 MiB, 5/6 TASK_SIZE])
/// mmap_base  │ mmap area ↓  │ [vdso], [vvar], libraries, anonymous mmaps (top-down)
///            │              │
///            │ heap ↑       │ start_brk = brk (page-aligned end of bss)
///            │ bss          │ anonymous rw-p
///            │ data         │ file rw-p
/// TextStart  │ text         │ file r-xp at 0x08048000 (32-bit) / 0x400000 (64-bit)
/// 0          └──────────────┘
/// </code>
/// </summary>
public static class ExecLayout
{
    /// <summary>stack_expand in setup_arg_pages: the stack starts 128 KiB deeper than the strings need.</summary>
    public const ulong InitialStackExpand = 128UL << 10;

    /// <summary>Auxiliary-vector pairs assumed on the initial stack (Linux pushes about 20 on x86-64).</summary>
    public const int AuxvPairs = 20;

    /// <summary>Bytes of AT_RANDOM data create_elf_tables places below the strings.</summary>
    public const int AtRandomBytes = 16;

    /// <summary>
    /// Builds the layout into an empty <paramref name="mm"/>: text, data, bss, heap start, mmap_base, the
    /// optional vDSO pair and the stack with the strings; fills start_code..env_end, start_stack and mmap_base.
    /// </summary>
    public static void Build(Mm mm, ExecImage image, List<VmaChange>? changes = null)
    {
        if (mm.Vmas.Count != 0)
        {
            throw new InvalidOperationException("exec layout needs an empty address space (flush_old_exec first)");
        }

        if (image.FileId < 0 || image.FileId >= mm.Files.Count)
        {
            throw new InputException("exec image", 0, image.FileId.ToString(System.Globalization.CultureInfo.InvariantCulture), "the executable's file id is not in the file table");
        }

        PagingMode mode = mm.Mode;
        ref MmStruct s = ref mm.Struct;
        ulong ptr = (ulong)mode.PointerSize;

        // Text and data: file mappings at the link addresses; data follows text on the next page in the file too.
        ulong text = mode.TextStart;
        ulong textLen = Mm.PageAlign(Math.Max(image.TextSize, 1));
        Check(mm.DoMmap(text, textLen, Prot.Read | Prot.Exec, MapFlags.Private | MapFlags.Fixed, image.FileId, 0, changes));
        s.StartCode = text;
        s.EndCode = text + image.TextSize;

        ulong dataStart = text + textLen;
        s.StartData = dataStart;
        s.EndData = dataStart + image.DataSize;
        if (image.DataSize > 0)
        {
            Check(mm.DoMmap(dataStart, Mm.PageAlign(image.DataSize), Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Fixed, image.FileId, textLen >> Pte.PageShift, changes));
        }

        // bss: the part of it past the last data page is anonymous (vm_brk_flags in load_elf_binary).
        ulong bssStart = Mm.PageAlign(s.EndData);
        ulong bssEnd = Mm.PageAlign(s.EndData + image.BssSize);
        if (bssEnd > bssStart)
        {
            Check(mm.DoMmap(bssStart, bssEnd - bssStart, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Fixed | MapFlags.Anonymous, -1, 0, changes));
        }

        s.StartBrk = s.Brk = bssEnd;

        // Stack strings, from the top down: an 8-byte (pointer) gap, the filename, envp, argv.
        ulong top = mode.TaskSize;
        string filename = image.Filename ?? mm.Files[image.FileId].Path;
        ulong p = top - ptr;
        p -= (ulong)Encoding.UTF8.GetByteCount(filename) + 1;
        ulong envBytes = StringBytes(image.Envp);
        ulong argBytes = StringBytes(image.Argv);
        // copy_strings: argv + envp may use at most a quarter of the stack rlimit (E2BIG otherwise).
        if (envBytes + argBytes > mm.StackRlimit / 4)
        {
            throw new InputException("exec image", 0, $"{argBytes + envBytes} bytes", "arguments and environment exceed RLIMIT_STACK / 4 (E2BIG)");
        }

        s.EnvEnd = p;
        s.EnvStart = p - envBytes;
        s.ArgEnd = s.EnvStart;
        s.ArgStart = s.ArgEnd - argBytes;

        // create_elf_tables: AT_RANDOM bytes, then argc, argv[], NULL, envp[], NULL, auxv pairs; 16-byte aligned.
        ulong sp = (s.ArgStart - AtRandomBytes) & ~15UL;
        ulong words = 1 + (ulong)image.Argv.Count + 1 + (ulong)image.Envp.Count + 1 + (2 * AuxvPairs);
        sp = (sp - (words * ptr)) & ~15UL;
        s.StartStack = sp;

        ulong stackStart = (s.ArgStart & Pte.PageMask) - InitialStackExpand;
        if (top - stackStart > mm.StackRlimit)
        {
            stackStart = top - mm.StackRlimit;
        }

        Check(mm.MmapRegion(stackStart, top - stackStart, VmFlags.StackDefault, VmaKind.Stack, -1, stackStart >> Pte.PageShift, changes));

        s.MmapBase = Mm.ComputeMmapBase(mode.TaskSize, mm.StackRlimit, mm.StackGuardGap, image.MmapRandom);

        if (image.MapVdso)
        {
            // map_vdso: one unmapped area for both, [vvar] first then [vdso] above it.
            const ulong vvarLen = 4 * Pte.PageSize;
            const ulong vdsoLen = 2 * Pte.PageSize;
            long at = mm.GetUnmappedArea(0, vvarLen + vdsoLen);
            Check(at);
            ulong a = (ulong)at;
            Check(mm.DoMmap(a, vvarLen, Prot.Read, MapFlags.Private | MapFlags.Fixed | MapFlags.Anonymous, mm.Files.Intern("[vvar]"), 0, changes, VmaKind.Special));
            Check(mm.DoMmap(a + vvarLen, vdsoLen, Prot.Read | Prot.Exec, MapFlags.Private | MapFlags.Fixed | MapFlags.Anonymous, mm.Files.Intern("[vdso]"), 0, changes, VmaKind.Special));
        }
    }

    private static ulong StringBytes(IReadOnlyList<string> strings)
    {
        ulong n = 0;
        for (int i = 0; i < strings.Count; i++)
        {
            n += (ulong)Encoding.UTF8.GetByteCount(strings[i]) + 1;
        }

        return n;
    }

    private static void Check(long result)
    {
        if (Errno.IsError(result))
        {
            throw new InputException("exec image", 0, Errno.Name(result), "the executable's segments, arguments and stack do not fit the address space, or overcommit (machine.overcommit_memory) refused their charge");
        }
    }
}
