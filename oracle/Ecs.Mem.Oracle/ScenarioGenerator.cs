using System.Globalization;
using System.Text;

namespace EcsMem.Oracle;

/// <summary>An operation of a program EcsMem cannot express yet, and the issue-13 item that will bring it.</summary>
public sealed record Unsupported(string Verb, int Line, string Mechanism);

/// <summary>A generated scenario: its YAML, its Lackey trace and what had to be left out.</summary>
/// <param name="Moves">Where EcsMem's run moves each region of an <c>mremap ... maymove</c>, by the op's line.</param>
/// <param name="Accesses">The trace's accesses up to the program's exit: the last phase's snapshot, then what its
/// phase_end and finish() touch after it (only the kit's previous-run pass, SimulationRun.PreviousRunExit, runs those).</param>
public sealed record GeneratedScenario(string Yaml, string Trace, IReadOnlyList<Unsupported> LeftOut, IReadOnlyDictionary<int, ulong> Moves, long Accesses = 0)
{
    /// <summary>
    /// The fork child's own Lackey trace (<see cref="ScenarioGenerator.ChildTraceFile"/>), when it runs glibc's fork return
    /// (a memcg program's harness: <see cref="HarnessFootprint.ForkChildStores"/>); null when the child only holds its copy.
    /// </summary>
    public string? ChildTrace { get; init; }

    /// <summary>Writes the scenario's trace (and its child's) into <paramref name="dir"/> beside <paramref name="name"/>.yaml.</summary>
    public void WriteTraces(string dir, string name)
    {
        File.WriteAllText(Path.Combine(dir, name + ".lackey"), Trace);
        if (ChildTrace is not null)
            File.WriteAllText(Path.Combine(dir, ScenarioGenerator.ChildTraceFile(name)), ChildTrace);
    }
}

/// <summary>
/// Writes a kit program as an EcsMem scenario: one process laid out by exec (no heap yet), a Lackey trace of
/// the program's loads and stores, and a timeline of its system calls at the access counts where the program
/// makes them (<c>after:</c>). Cached files are read once by a prelude at the start of the trace (the C program
/// reads them with read(2) before its first phase). <c>fork</c> becomes a <c>children:</c> entry whose child
/// starts only after the run (so, like the C child blocked on a pipe, it just holds its copy); under a memcg, where the
/// harness's pages are modelled, the child runs glibc's fork return first (its own trace) and then pauses until the
/// parent exits (<see cref="HarnessFootprint.ForkChildStores"/>). A memcg limit
/// becomes a cgroup whose memory.max is the limit, the process in it, on a machine of <see cref="DefaultRam"/>.
/// </summary>
public static class ScenarioGenerator
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>RAM of machines without a memcg limit: room for every program without reclaim.</summary>
    public const long DefaultRam = 256L << 20;

    /// <summary>
    /// A start delay that puts the fork child after the end of every program: 2^61 cycles (≈ 24 years at 3 GHz), far
    /// beyond anything a program does, whatever its timing. Running the scenario to its end stays quick because both
    /// kernel threads that wake while the child waits are skipped through the idle stretch by arithmetic (docs/kernel.md,
    /// "Idle stretches"): kcompactd's proactive check every 500 ms, and khugepaged's 10 s scans of a registered child's
    /// mm (`thp-fork-write`: 76,861,434 full_scans, the whole `ecsmem run` under a second; ~290 s when every scan ran,
    /// which is why the hold was 2^43 for a while).
    /// </summary>
    public const ulong ChildHold = 1UL << 61;

    public static GeneratedScenario Generate(ProgramPlan plan)
    {
        PhaseProgram p = plan.Program;
        var leftOut = new List<Unsupported>();
        var trace = new StringBuilder();
        var timeline = new StringBuilder();
        string proc = p.Name;
        long accesses = 0;
        long? forkAt = null;
        var moves = new Dictionary<int, ulong>();

        // Prelude: each cached file read once through a scratch mapping (the C program's read(2) warm-up).
        Event(timeline, 0, proc, $"mmap: {{addr: 0x{ProgramPlan.MarkerAddr:x}, length: 4096, prot: r--, flags: private, fixed: true}}");
        Access(trace, ProgramPlan.MarkerAddr, false);
        accesses++;
        HarnessFootprint? harness = p.MemcgLimit is not null ? HarnessFootprint.Of(p) : null;
        if (harness is not null)
        {
            // The harness's own anonymous pages (libc's and ld.so's data, main's stack, warm_up's stack and the two
            // buffers), charged to the cgroup like the program's, written in the order the C program first writes
            // them (HarnessFootprint): on Linux that is the order reclaim later swaps them out in.
            // They sit in the real process's anonymous VMAs, beside its other VMAs (HarnessLayout): the kernel charges
            // the group a vm_area_struct for each, an anon_vma for each written, and the page tables of where they are.
            foreach (var (start, pages) in harness.Layout.Areas)
                Event(timeline, accesses, proc, $"mmap: {{addr: 0x{start:x}, length: {pages * ProgramPlan.PageSize}, prot: rw-, flags: private, fixed: true}}");
            foreach (var (start, pages, prot, file, offset) in HarnessLayout.Untouched)
            {
                bool relro = prot == "relro";
                string mapped = relro ? "rw-" : prot;
                Event(timeline, accesses, proc, $"mmap: {{addr: 0x{start:x}, length: {pages * ProgramPlan.PageSize}, prot: {mapped}, flags: private, file: \"{(file == "binary" ? $"/oracle/{p.Name}" : file)}\", offset: {offset * ProgramPlan.PageSize}, fixed: true}}");
                if (relro)
                    Event(timeline, accesses, proc, $"mprotect: {{addr: 0x{start:x}, length: {pages * ProgramPlan.PageSize}, prot: r--}}");
            }
            // exec wrote the stack's top page through get_user_pages before the program ran (its get_arg_page calls,
            // FOLL_TOUCH: referenced, activated, referenced): the same gup with FOLL_WRITE | FOLL_TOUCH as
            // MADV_POPULATE_WRITE's, once per call (HarnessFootprint.ExecArgPageTouches), which leaves it on the active list, never
            // swapped, as measured (oracle/experiments/stack-top).
            if (harness.Pages > HarnessFootprint.WarmUpStackPages + HarnessFootprint.BssPages)
                for (int i = 0; i < HarnessFootprint.ExecArgPageTouches; i++)
                    Event(timeline, accesses, proc, $"madvise: {{addr: 0x{harness.PageAddr(HarnessFootprint.TopStackPage):x}, length: {ProgramPlan.PageSize}, advice: populate_write}}");
            accesses += HarnessAccesses(trace, harness, harness.Prelude);
            // warm_up stored zeros into its stack array and the two buffers: on Linux (6.12+) reclaim keeps those
            // pages in the swap area's zeromap without I/O (measured: swpout_zero +187 a run, HarnessFootprint.ZeroPages).
            foreach (var (first, count) in harness.ZeroRuns)
                Event(timeline, accesses, proc, $"zero_fill: {{addr: 0x{harness.PageAddr(first):x}, length: {count * ProgramPlan.PageSize}}}");
        }
        ulong scratch = ProgramPlan.PreludeBase;
        foreach (DataFile f in p.Files.Where(f => f.Warm))
        {
            Event(timeline, accesses, proc, $"mmap: {{addr: 0x{scratch:x}, length: {f.Size}, prot: r--, flags: private, file: {DataPath(f.Name)}, fixed: true}}");
            for (long off = 0; off < f.Size; off += ProgramPlan.PageSize)
                Access(trace, scratch + (ulong)off, false);
            accesses += f.Size / ProgramPlan.PageSize;
            Event(timeline, accesses, proc, $"munmap: {{addr: 0x{scratch:x}, length: {f.Size}}}");
            scratch += (ulong)f.Size;
        }

        var heapOrPlan = new ProgramPlan(p); // a second walk: region addresses as each op sees them
        var regions = new Dictionary<string, (ulong Base, long Size)>(StringComparer.Ordinal);
        // The descriptors the C program holds (a memfd stays open while its region lives), for the numbers open and
        // memfd_create return: the lowest free one from 3, as the kernel gives them.
        var heldFds = new SortedSet<int>();
        var memfdOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var createdFiles = new HashSet<string>(StringComparer.Ordinal);
        int LowestFd()
        {
            int fd = 3;
            while (heldFds.Contains(fd))
                fd++;
            return fd;
        }
        (ulong Base, long Size) At(PhaseOp op, string name) =>
            regions.TryGetValue(name, out var known) ? known : (heapOrPlan.Find(op, name).Base, heapOrPlan.Find(op, name).Size);
        // phase_end's file reads, one open and close each (harness.h's slurp and pairs; HarnessFootprint.PhaseEndPaths),
        // or (ECSMEM_ORACLE_PHASE_END_READS=0) the first phase_end's alone, for the names it looks up.
        void PhaseEndReads(bool first)
        {
            foreach (string path in HarnessFootprint.PhaseEndReads ? HarnessFootprint.PhaseEndPaths(p.Swap) : (first ? HarnessFootprint.ReadPaths : []))
            {
                int fd = LowestFd();
                Event(timeline, accesses, proc, $"open: {{file: {path}, fd: {fd}, flags: rdonly}}");
                Event(timeline, accesses, proc, $"close: {{fd: {fd}}}");
            }
        }
        bool firstPhase = true;
        int phaseNumber = 0;
        foreach (Phase ph in p.Phases)
        {
            phaseNumber++;
            if (harness is not null && !firstPhase)
            {
                // The rest of the previous phase_end, after the program's VMAs were read: smaps, smaps_rollup and
                // memory.stat slurped into buf, reg read (HarnessFootprint.BetweenPhases), outside both windows.
                accesses += HarnessAccesses(trace, harness, harness.BetweenPhasesAfter(phaseNumber - 1), phaseEnd: true);
                // The record growing into out's next page in the previous phase_end's later reads (HarnessFootprint.RecordGrowth).
                accesses += HarnessAccesses(trace, harness, harness.RecordGrowth(phaseNumber - 1));
                // The previous phase_end's reads: the first one's looked these names up, so their dentries and inodes
                // are the group's kernel memory from then on (MemcgController.PathLookup; later reads find them cached);
                // each open holds its seq_file's accounted objects until its close (MemcgController.SeqFileOpen).
                if (HarnessFootprint.PhaseEndReads || ph == p.Phases[1])
                    PhaseEndReads(ph == p.Phases[1]);

            }
            firstPhase = false;
            Access(trace, ProgramPlan.MarkerAddr, false);
            accesses++;
            // phase_start: getrusage's store to its u and the stores of min0 and maj0, inside the window.
            if (harness is not null)
                accesses += HarnessAccesses(trace, harness, harness.PhaseStart);
            foreach (PhaseOp op in ph.Ops)
            {
                switch (op.Verb)
                {
                    case "mmap":
                        {
                            bool file = op.Arg(1) == "file";
                            if (op.Has("locked") && !ScenarioSupport.MmOps)
                                leftOut.Add(new Unsupported(op.Verb + " MAP_LOCKED", op.Line, "MAP_LOCKED (issue 13 item 5)"));
                            Region r = heapOrPlan.Find(op, op.Arg(0)!);
                            ulong addr = op.After("after") is { } prev ? regions[prev].Base + (ulong)regions[prev].Size : heapOrPlan.BaseAt(op);
                            long size = PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(file ? 3 : 2)!);
                            regions[r.Name] = (addr, size);
                            string prot = ProtText(op.Arg(file ? 4 : 3)!, op.Has("shared"));
                            string flags = op.Has("shared") ? "shared" : "private";
                            long fileOffset = op.After("offset") is { } o ? PhaseProgram.Size(p.SourcePath, op.Line, o) : 0;
                            string fileKeys = file ? $", file: {DataPath(op.Arg(2)!)}, offset: {fileOffset}" : "";
                            string locked = op.Has("locked") ? ", locked: true" : "";
                            string populate = op.Has("populate") ? ", populate: true" : "";
                            // An expected failure (expect ERR) is made all the same: EcsMem's result is compared with the kernel's.
                            string noReserve = op.Has("noreserve") ? ", noreserve: true" : "";
                            noReserve += op.Has("hugetlb") ? ", hugetlb: true" : "";
                            if (file && ScenarioSupport.Fds)
                            {
                                // The C program opens the file for each mmap and closes it after: its own struct file.
                                int fd = LowestFd();
                                Event(timeline, accesses, proc, $"open: {{file: {DataPath(op.Arg(2)!)}, fd: {fd}}}");
                                Event(timeline, accesses, proc, $"mmap: {{addr: 0x{addr:x}, length: {size}, prot: {prot}, flags: {flags}, fd: {fd}, offset: {fileOffset}, fixed: true{locked}{populate}{noReserve}}}");
                                Event(timeline, accesses, proc, $"close: {{fd: {fd}}}");
                                break;
                            }

                            Event(timeline, accesses, proc, $"mmap: {{addr: 0x{addr:x}, length: {size}, prot: {prot}, flags: {flags}{fileKeys}, fixed: true{locked}{populate}{noReserve}}}");
                            break;
                        }
                    case "brk":
                        {
                            Region r = heapOrPlan.Find(op, op.Arg(0)!);
                            regions[r.Name] = (r.Base, r.Size);
                            Event(timeline, accesses, proc, $"brk: {{delta: {r.Size}}}");
                            break;
                        }
                    case "touch":
                        {
                            var (b, _) = At(op, op.Arg(0)!);
                            bool write = op.Arg(1) == "write";
                            foreach (long off in plan.TouchOffsets(op))
                            {
                                Access(trace, b + (ulong)off, write);
                                accesses++;
                                accesses += SinkStore(trace, harness, write);
                            }
                            break;
                        }
                    case "touch-random":
                        {
                            ulong b = At(op, op.Arg(0)!).Base;
                            bool write = op.Arg(1) == "write";
                            foreach (int page in plan.RandomPages[op.Line])
                            {
                                Access(trace, b + ((ulong)page * ProgramPlan.PageSize), write);
                                accesses++;
                                accesses += SinkStore(trace, harness, write);
                            }
                            break;
                        }
                    case "munmap":
                        {
                            var (b, size) = At(op, op.Arg(0)!);
                            if (op.Arg(1) is { } mo)
                                Event(timeline, accesses, proc, $"munmap: {{addr: 0x{b + (ulong)PhaseProgram.Size(p.SourcePath, op.Line, mo):x}, length: {PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(2)!)}}}");
                            else
                                Event(timeline, accesses, proc, $"munmap: {{addr: 0x{b:x}, length: {size}}}");
                            break;
                        }
                    case "mprotect":
                        {
                            var (b, _) = At(op, op.Arg(0)!);
                            ulong at = b + (ulong)PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(1)!);
                            Event(timeline, accesses, proc, $"mprotect: {{addr: 0x{at:x}, length: {PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(2)!)}, prot: {ProtText(op.Arg(3)!, false)}}}");
                            break;
                        }
                    case "fork":
                        if (forkAt is not null)
                            leftOut.Add(new Unsupported("a second fork", op.Line, "more than one fork per program (kit limit)"));
                        else
                            forkAt = accesses;
                        break;
                    case "memfd" when ScenarioSupport.Fds:
                        {
                            // make_memfd: memfd_create("oracle", 0) and ftruncate, then a shared read-write mapping; the
                            // descriptor stays open with the region.
                            Region r = heapOrPlan.Find(op, op.Arg(0)!);
                            ulong addr = op.After("after") is { } prev ? regions[prev].Base + (ulong)regions[prev].Size : heapOrPlan.BaseAt(op);
                            long size = PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(1)!);
                            long mapLen = op.After("map") is { } ml ? PhaseProgram.Size(p.SourcePath, op.Line, ml) : size;
                            regions[r.Name] = (addr, mapLen);
                            int fd = LowestFd();
                            heldFds.Add(fd);
                            memfdOf[r.Name] = fd;
                            Event(timeline, accesses, proc, $"memfd_create: {{name: oracle, fd: {fd}}}");
                            Event(timeline, accesses, proc, $"ftruncate: {{fd: {fd}, length: {size}}}");
                            Event(timeline, accesses, proc, $"mmap: {{addr: 0x{addr:x}, length: {mapLen}, prot: rw-, flags: shared, fd: {fd}, offset: 0, fixed: true}}");
                            break;
                        }
                    case "tmpfs" when ScenarioSupport.Fds:
                        {
                            // make_tmpfs: open(O_RDWR|O_CREAT|O_TRUNC) of a /dev/shm file and ftruncate, then a shared
                            // read-write mapping; the descriptor stays open with the region, as a memfd's does.
                            Region r = heapOrPlan.Find(op, op.Arg(0)!);
                            ulong addr = op.After("after") is { } prev ? regions[prev].Base + (ulong)regions[prev].Size : heapOrPlan.BaseAt(op);
                            long size = PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(2)!);
                            regions[r.Name] = (addr, size);
                            int fd = LowestFd();
                            heldFds.Add(fd);
                            memfdOf[r.Name] = fd;
                            Event(timeline, accesses, proc, $"open: {{file: {CGenerator.TmpfsPath(p, op.Arg(1)!)}, fd: {fd}, flags: creat|trunc}}");
                            Event(timeline, accesses, proc, $"ftruncate: {{fd: {fd}, length: {size}}}");
                            Event(timeline, accesses, proc, $"mmap: {{addr: 0x{addr:x}, length: {size}, prot: rw-, flags: shared, fd: {fd}, offset: 0, fixed: true}}");
                            break;
                        }
                    case "create" when ScenarioSupport.Fds:
                        {
                            // make_file: open(O_RDWR|O_CREAT|O_TRUNC) of a new file in the data folder; the descriptor
                            // stays open as the region's (pwrite writes through it, mmap opens the file anew).
                            int fd = LowestFd();
                            heldFds.Add(fd);
                            memfdOf[op.Arg(0)!] = fd;
                            createdFiles.Add(op.Arg(0)!);
                            Event(timeline, accesses, proc, $"open: {{file: {DataPath(op.Arg(1)!)}, fd: {fd}, flags: creat|trunc}}");
                            break;
                        }
                    case "touch-sigbus":
                        {
                            // touch_sigbus: one access, which EcsMem answers with SIGBUS by ending the task (the C program
                            // catches the signal to record its figures).
                            var (b, _) = At(op, op.Arg(0)!);
                            Access(trace, b + (ulong)PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(2)!), op.Arg(1) == "write");
                            accesses++;
                            break;
                        }
                    case "memfd-map" when ScenarioSupport.Fds:
                        {
                            // The same memfd or tmpfs file mapped again; do_mmap then closes the descriptor (the new region
                            // does not own it).
                            Region r = heapOrPlan.Find(op, op.Arg(0)!);
                            ulong addr = op.After("after") is { } prev ? regions[prev].Base + (ulong)regions[prev].Size : heapOrPlan.BaseAt(op);
                            long size = At(op, op.Arg(1)!).Size;
                            regions[r.Name] = (addr, size);
                            int fd = memfdOf[op.Arg(1)!];
                            Event(timeline, accesses, proc, $"mmap: {{addr: 0x{addr:x}, length: {size}, prot: rw-, flags: shared, fd: {fd}, offset: 0, fixed: true}}");
                            Event(timeline, accesses, proc, $"close: {{fd: {fd}}}");
                            heldFds.Remove(fd);
                            break;
                        }
                    case "pwrite" or "pread" when ScenarioSupport.Fds:
                        {
                            // do_pwrite / do_pread: pwrite64 / pread64 of the region's file through its descriptor (the
                            // C program's pieces, buf-sized or bs, are one call here: the kernel does the same per page).
                            long off = PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(1)!), len = PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(2)!);
                            // The harness's buf holds only zeros (warm_up's) until the first phase_end reads smaps into
                            // it: a pwrite of the first phase copies zeros (measured: tmpfs-swap-memcg's file went to the
                            // swap area's zeromap, oracle/experiments/shmem-zeromap). Later ones copy that text too. A swap program's
                            // vmstat read before the first phase is the exception (below).
                            bool zero = op.Verb == "pwrite" && ph == p.Phases[0];
                            long bsBytes = op.After("bs") is { } bs ? PhaseProgram.Size(p.SourcePath, op.Line, bs) : HarnessFootprint.BufBytes;
                            // On a created (ext4) file each pwrite's length sizes the page-cache folios write_begin
                            // makes: the C program's pieces (bs, else its 256 KiB buf) are the call's pieces.
                            string piece = op.Verb == "pwrite" && createdFiles.Contains(op.Arg(0)!) ? $", piece: {bsBytes}" : "";
                            string verb = op.Verb == "pwrite" ? "write" : "read";
                            int fd = memfdOf[op.Arg(0)!];
                            if (zero && p.Swap)
                            {
                                // A swap program read /proc/vmstat into buf before the first phase (swap_counts): buf's
                                // first page holds that text, so each of do_pwrite's pieces writes one page of data and
                                // zeros after it (tmpfs-swap-memcg: 36-37 data pages of the ~2,330 its write phase
                                // swaps out, 1 in 64). Each piece is two calls here: its data page, then its zeros.
                                foreach (string w in PwritePieces(off, len, bsBytes, HarnessFootprint.VmstatBufBytes))
                                    Event(timeline, accesses, proc, $"write: {{fd: {fd}, {w}{piece}}}");
                            }
                            else
                                Event(timeline, accesses, proc, $"{verb}: {{fd: {fd}, length: {len}, offset: {off}{(zero ? ", zero: true" : "")}{piece}}}");
                            accesses += BufCopy(trace, harness, p, op);
                            break;
                        }
                    case "fallocate" when ScenarioSupport.Fds:
                        {
                            long off = PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(1)!), len = PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(2)!);
                            string mode = op.Has("punch_hole") ? ", mode: keep_size|punch_hole" : op.Has("keep_size") ? ", mode: keep_size" : "";
                            Event(timeline, accesses, proc, $"fallocate: {{fd: {memfdOf[op.Arg(0)!]}, offset: {off}, length: {len}{mode}}}");
                            break;
                        }
                    case "unlink" when ScenarioSupport.Fds:
                        {
                            PhaseOp made = p.Phases.SelectMany(ph => ph.Ops).First(o => o.Verb == "tmpfs" && o.Arg(0) == op.Arg(0));
                            Event(timeline, accesses, proc, $"unlink: {{file: {CGenerator.TmpfsPath(p, made.Arg(1)!)}}}");
                            break;
                        }
                    case "create":
                        leftOut.Add(new Unsupported(op.Verb, op.Line, "file descriptors (issue 13 item 7)"));
                        break;
                    case "memfd":
                    case "memfd-map":
                    case "tmpfs":
                    case "pwrite":
                    case "pread":
                    case "fallocate":
                    case "unlink":
                        leftOut.Add(new Unsupported(op.Verb, op.Line, "shmem and memfd (issue 13 item 7)"));
                        break;
                    case "madvise" when (ScenarioSupport.Madvise && op.Arg(1) is "random" or "sequential" or "willneed" or "normal") ||
                                        (ScenarioSupport.MmOps && op.Arg(1) is "dontneed" or "free" or "dontfork" or "hugepage" or "nohugepage") ||
                                        (ScenarioSupport.ColdPageout && op.Arg(1) is "cold" or "pageout"):
                        {
                            var (b, size) = At(op, op.Arg(0)!);
                            ulong at = b + (op.Arg(2) is { } mo ? (ulong)PhaseProgram.Size(p.SourcePath, op.Line, mo) : 0);
                            long len = op.Arg(3) is { } ml ? PhaseProgram.Size(p.SourcePath, op.Line, ml) : size;
                            Event(timeline, accesses, proc, $"madvise: {{addr: 0x{at:x}, length: {len}, advice: {op.Arg(1)}}}");
                            break;
                        }
                    case "fadvise" when ScenarioSupport.Fadvise && op.Arg(1) is not "noreuse":
                        Event(timeline, accesses, proc, $"fadvise: {{file: {DataPath(op.Arg(0)!)}, advice: {op.Arg(1)}}}");
                        break;
                    case "madvise":
                        leftOut.Add(new Unsupported("madvise " + op.Arg(1), op.Line, op.Arg(1) is "random" or "sequential" or "willneed"
                            ? "madvise readahead hints (issue 13 item 3)" : "madvise (issue 13 item 5)"));
                        break;
                    case "fadvise":
                        leftOut.Add(new Unsupported("fadvise " + op.Arg(1), op.Line, "posix_fadvise (issue 13 item 3)"));
                        break;
                    case "mremap" when ScenarioSupport.MmOps:
                        {
                            // The C program's do_mremap: mremap(p, len, new_len, 0) in place, MREMAP_MAYMOVE, or
                            // MREMAP_MAYMOVE | MREMAP_FIXED to the region's next slot (ProgramPlan).
                            var (b, size) = At(op, op.Arg(0)!);
                            long newLen = PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(1)!);
                            ulong to = heapOrPlan.BaseAt(op);
                            string flagKeys = op.Has("fixed") ? $", flags: maymove|fixed, new_addr: 0x{to:x}" : op.Has("maymove") ? ", flags: maymove" : "";
                            if (op.Has("maymove") && !op.Has("fixed"))
                            {
                                // The kernel picks the new address; the trace's later accesses need EcsMem's pick,
                                // so the scenario so far is run up to this call and asked (ProbeMoveTarget).
                                string sofar = Compose(p, leftOut, forkAt, timeline);
                                to = SimulationRun.ProbeMoveTarget(p.Name, sofar, trace.ToString(), accesses, (ulong)newLen);
                                moves[op.Line] = to;
                            }
                            Event(timeline, accesses, proc, $"mremap: {{addr: 0x{b:x}, old_length: {size}, new_length: {newLen}{flagKeys}}}");
                            regions[op.Arg(0)!] = (op.Has("fixed") || op.Has("maymove") ? to : b, newLen);
                            break;
                        }
                    case "mremap":
                        leftOut.Add(new Unsupported("mremap", op.Line, "mremap (issue 13 item 5)"));
                        break;
                    case "mlock" or "munlock" when ScenarioSupport.MmOps:
                        {
                            var (b, size) = At(op, op.Arg(0)!);
                            Event(timeline, accesses, proc, $"{op.Verb}: {{addr: 0x{b:x}, length: {size}}}");
                            break;
                        }
                    case "mlock":
                    case "munlock":
                        leftOut.Add(new Unsupported(op.Verb, op.Line, "mlock (issue 13 item 5)"));
                        break;
                    case "fork-touch":
                        {
                            // do_fork_touch: a child touches every page of the region and exits while the parent waits
                            // (fork + waitpid): a timeline fork with wait, the child's pass a sequential generator.
                            var (b, size) = At(op, op.Arg(0)!);
                            long pages = size / ProgramPlan.PageSize;
                            string writes = op.Arg(1) == "write" ? "1" : "0";
                            Event(timeline, accesses, proc, $"fork: {{child: {ForkTouchChild(p, op)}, wait: true, workload: {{generator: \"seq:count={pages},pages={pages},base=0x{b:x},writes={writes}\"}}}}");
                            break;
                        }
                }
            }
            // The phase ends with getrusage: a store to the harness's stack page and one to its globals.
            if (harness is not null && EndPages(ph, harness) > 0)
                accesses += HarnessAccesses(trace, harness, harness.PhaseEnd, load: harness.PhaseEndLoad);
            // fork_settle's copy-on-write stores after a fork, whose faults the C program leaves out of the phase: the
            // window ends before them (nothing else follows the fork in the phase's window but getrusage).
            if (harness is not null && SettlePages(ph, harness) > 0)
                accesses += HarnessAccesses(trace, harness, harness.ForkSettle);
            // phase_end right after its getrusage: min0 and maj0 read, errs cleared (the .data page), outside the window.
            if (harness is not null)
                accesses += HarnessAccesses(trace, harness, harness.AfterWindow);
            // phase_end's stores before its smaps record of the program's regions (the VMAs are read after them).
            if (harness is not null)
            {
                accesses += HarnessAccesses(trace, harness, harness.BeforeSnapshot(ph == p.Phases[0]), phaseEnd: true, loadsFirst: true);
                // emit's header into out's next page once the record has reached it (HarnessFootprint.RecordHead).
                accesses += HarnessAccesses(trace, harness, harness.RecordHead(phaseNumber));
            }
        }

        // After the last snapshot, up to the exit: the rest of the last phase_end (buf's smaps pages, reg), the record's
        // tail in out (HarnessFootprint.RecordTail) and exit()'s libc pages (HarnessFootprint.ExitPages). No phase measures them; the previous-run pass runs them because what
        // they swap in is the last swap-in before the exit, whose window and hits the next run's first window starts
        // from (swapin_nr_pages' statics are global: oracle/experiments/swap-ra-exit).
        if (harness is not null && p.Phases.Count > 0)
        {
            accesses += HarnessAccesses(trace, harness, harness.BetweenPhasesAfter(p.Phases.Count), phaseEnd: true);
            // The last phase_end's reads (the kit takes its memory.stat here: SimulationRun).
            if (HarnessFootprint.PhaseEndReads)
                PhaseEndReads(p.Phases.Count == 1);
            accesses += HarnessAccesses(trace, harness, harness.RecordTail(p.Phases.Count));
            foreach (var (page, store) in harness.ExitPages)
            {
                Access(trace, harness.PageAddr(page), store);
                accesses++;
            }
        }
        // The fork's child under a memcg: glibc's fork return in the child (its stores to the harness's pages), then pause
        // until the parent exits, as the C child blocks in read(2) on the pipe until finish() closes it.
        string? childTrace = null;
        if (harness is not null && forkAt is not null && HarnessFootprint.ForkChildRuns)
        {
            var ct = new StringBuilder();
            foreach (ulong a in harness.ForkChildStores)
                Access(ct, a, true);
            childTrace = ct.ToString();
            Event(timeline, harness.ForkChildStores.Length, ForkChild(p), "pause: {}");
        }
        return new GeneratedScenario(Compose(p, leftOut, forkAt, timeline, childTrace is not null), trace.ToString(), leftOut, moves, accesses) { ChildTrace = childTrace };
    }

    /// <summary>The name of a <c>fork</c>'s child in the scenario: the process's first <c>children:</c> entry.</summary>
    public static string ForkChild(PhaseProgram p) => p.Name + "-1";

    /// <summary>The file of the fork child's trace (<see cref="GeneratedScenario.ChildTrace"/>) beside the program's.</summary>
    public static string ChildTraceFile(string program) => program + "-child.lackey";

    /// <summary>The scenario's YAML: header comments, machine, the one process and the timeline so far.</summary>
    /// <summary>Write requests the kit machine's swap device had in flight at most while reclaim wrote small ones (oracle/experiments/shmem-swap-disk).</summary>
    public const int KitDiskQueueDepth = 4;

    private static string Compose(PhaseProgram p, List<Unsupported> leftOut, long? forkAt, StringBuilder timeline, bool childRuns = false)
    {
        string proc = p.Name;
        var y = new StringBuilder();
        y.Append(Inv, $"# Generated by oracle/Ecs.Mem.Oracle from oracle/programs/{p.Name}.phases; do not edit.\n");
        foreach (Unsupported u in leftOut)
            y.Append(Inv, $"# left out (not expressible yet): {u.Verb} (line {u.Line}): {u.Mechanism}\n");
        if (p.MemcgLimit is not null)
            y.Append("# memcg: the program runs in a cgroup whose memory.max is the recorded cgroup v1 memory.limit_in_bytes\n");
        y.Append(Inv, $"description: \"{p.Description.Replace("\"", "'", StringComparison.Ordinal)}\"\n");
        y.Append("machine:\n");
        long ram = KitRam();
        y.Append(Inv, $"  ram: {ram}\n");
        y.Append(Inv, $"  swap: {(p.Swap ? 1L << 30 : 0)}\n");
        if (p.SwapPartition)
            y.Append("  swap_type: partition\n");
        if (p.Overcommit is { } oc)
            y.Append(Inv, $"  overcommit_memory: {oc}\n");
        if (p.Mthp.Count > 0)
            y.Append("  thp: {sizes: {").Append(string.Join(", ", p.Mthp.Select(m => m.Size + ": " + m.Mode))).Append("}}\n");
        if (p.HugePages is { } hp)
            y.Append(Inv, $"  hugetlb: {{nr_hugepages: {hp}}}\n");
        if (ScenarioSupport.FaultAround)
            y.Append(Inv, $"  fault_around_bytes: {ScenarioSupport.FaultAroundBytes}\n");
        if (ScenarioSupport.ReadAhead)
            y.Append(Inv, $"  read_ahead_kb: {ScenarioSupport.ReadAheadKb}\n");
        if (ScenarioSupport.SwapReadahead)
            y.Append(Inv, $"  page_cluster: {ScenarioSupport.PageCluster}\n");
        // Only the memcg programs reclaim: there Linux writes swap-outs asynchronously (PG_writeback), and the kit's
        // machines mount the cgroup v1 memory controller (memcg reclaim waits on writeback).
        if (p.MemcgLimit is not null)
            y.Append("  writeback: async\n  cgroup_version: 1\n");
        // The kit machine's swap device serves several write requests at once: oracle/experiments/shmem-swap-disk
        // measured up to KitDiskQueueDepth in flight while reclaim wrote small requests (shmem-swap-memcg's fill).
        if (p.Swap && p.MemcgLimit is not null)
            y.Append(Inv, $"  disk_queue_depth: {KitDiskQueueDepth}\n");
        // cgroup v1's memory.swappiness of the program's group: its reclaim (all of it is the group's) uses it.
        if (p.Swappiness is { } sw)
            y.Append(Inv, $"  swappiness: {sw}\n");
        // ECSMEM_ORACLE_BUDDYINFO: the what-if aged zone, a recorded /proc/buddyinfo Normal line scaled to this RAM.
        if (OracleEnv.ScaledFreeArea("ECSMEM_ORACLE_BUDDYINFO", ram) is { } freeArea)
            y.Append("  free_area: [").Append(string.Join(", ", freeArea.Select(n => n.ToString(Inv)))).Append("]\n");
        // ECSMEM_ORACLE_MACHINE: more machine keys for a what-if run (oracle/README.md), `;` between them, e.g.
        // "latency: {clear_huge_page: 14000000}; disk_queue_depth: 1"; a bad key fails as any scenario's would.
        if (Environment.GetEnvironmentVariable("ECSMEM_ORACLE_MACHINE") is { Length: > 0 } extra)
            foreach (string key in extra.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                y.Append("  ").Append(key).Append('\n');
        if (p.MemcgLimit is { } limit)
        {
            y.Append("cgroups:\n");
            y.Append(Inv, $"  - {{name: oracle, memory.max: {limit + LimitDelta()}}}\n");
        }
        y.Append("processes:\n");
        y.Append(Inv, $"  - name: {proc}\n");
        if (p.MemcgLimit is not null)
            y.Append("    cgroup: oracle\n");
        // glibc registers the TLS's struct rseq at start-up: the kernel reads and writes it after each switch (rseq_preempt),
        // which brings the TLS page back in the fills of swap-anon-write, swap-fork-shared and thp-swpout-fallback (their
        // second major fault, traced) and in some of thp-swpout's write passes (oracle/experiments/harness-per-run/README.md,
        // "rseq"). Only a memcg scenario models the harness's pages.
        if (p.MemcgLimit is not null && HarnessFootprint.Of(p) is { } harness && harness.Pages > HarnessFootprint.RseqPage)
            y.Append(Inv, $"    rseq: 0x{harness.PageAddr(HarnessFootprint.RseqPage) + HarnessFootprint.RseqOffset:x}\n");
        y.Append(Inv, $"    layout: {{exec: {{file: /oracle/{p.Name}, text: 64K, data: 16K, bss: 16K, heap: 0}}}}\n");
        y.Append(Inv, $"    workload: {{trace: {{path: {p.Name}.lackey, format: lackey}}}}\n");
        if (forkAt is { } fa && childRuns)
            y.Append(Inv, $"    children: {{count: 1, after: {fa}, workload: {{trace: {{path: {ChildTraceFile(p.Name)}, format: lackey}}}}}}\n");
        else if (forkAt is { } fh)
            y.Append(Inv, $"    children: {{count: 1, after: {fh}, start_delay: {ChildHold}}}\n");
        if (timeline.Length > 0)
        {
            y.Append("timeline:\n");
            y.Append(timeline);
        }
        return y.ToString();
    }

    /// <summary>
    /// ECSMEM_ORACLE_RAM: the RAM, in bytes, of every program's machine in a what-if run (session 28: 2 GiB holds the
    /// recording machine's low-order free lists unscaled, oracle/experiments/sw60-rounds); <see cref="DefaultRam"/> when
    /// unset. Anything but a whole number of bytes of at least 4 MiB ends the run with one line.
    /// </summary>
    private static long KitRam()
    {
        string? v = Environment.GetEnvironmentVariable("ECSMEM_ORACLE_RAM");
        if (string.IsNullOrEmpty(v))
            return DefaultRam;
        return long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long r) && r >= 4L << 20
            ? r : throw new EcsMem.Diagnostics.InputException("ECSMEM_ORACLE_RAM", 0, v, "not a whole number of bytes of at least 4 MiB");
    }

    /// <summary>
    /// ECSMEM_ORACLE_LIMIT_DELTA: bytes added to a memcg program's limit in a what-if run (negative: a lower limit, a
    /// stand-in for kernel memory EcsMem does not charge; oracle/README.md). 0 when unset.
    /// </summary>
    private static long LimitDelta()
    {
        string? v = Environment.GetEnvironmentVariable("ECSMEM_ORACLE_LIMIT_DELTA");
        if (string.IsNullOrEmpty(v))
            return 0;
        return long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long d)
            ? d : throw new EcsMem.Diagnostics.InputException("ECSMEM_ORACLE_LIMIT_DELTA", 0, v, "not a whole number of bytes");
    }

    /// <summary>The name of the child a <c>fork-touch</c> makes in the scenario (the program's name and the statement's line).</summary>
    public static string ForkTouchChild(PhaseProgram p, PhaseOp op) => $"{p.Name}-child{op.Line}";

    /// <summary>
    /// The harness pages a phase's end touches in its window: none after a fork (the parent's first stores to its own
    /// stack and globals then are the harness's copy-on-write faults, which the C program makes outside the window).
    /// </summary>
    public static long EndPages(Phase ph, HarnessFootprint? harness) =>
        harness is null || ph.Ops.Any(o => o.Verb is "fork" or "fork-touch") ? 0 : harness.PhaseEnd.Length;

    /// <summary>The harness pages phase_start touches at the start of each phase's window.</summary>
    public static long StartPages(HarnessFootprint? harness) => harness?.PhaseStart.Length ?? 0;

    /// <summary>The harness pages fork_settle stores to in phase <paramref name="ph"/>: after its fork or fork-touch.</summary>
    public static long SettlePages(Phase ph, HarnessFootprint? harness) =>
        harness is null || !ph.Ops.Any(o => o.Verb is "fork" or "fork-touch") ? 0 : harness.ForkSettle.Length;

    /// <summary>
    /// A read of the program's touch loops is <c>sink += p[x]</c> (harness.h's touch and touch_pages): a store to the
    /// volatile global <c>sink</c> in the harness's .data page after each load. Modelled where the harness's pages
    /// are (a memcg program): there it keeps the .data page in use through a read pass, as on Linux. Its count (0 or 1).
    /// </summary>
    public static long SinkStore(StringBuilder? trace, HarnessFootprint? harness, bool write)
    {
        if (harness is null || write || harness.Pages <= HarnessFootprint.DataPage)
            return 0;
        if (trace is not null)
            Access(trace, harness.PageAddr(HarnessFootprint.DataPage), true);
        return 1;
    }

    /// <summary>
    /// A pwrite's copy_from_user reads the harness's <c>buf</c> (do_pwrite's source) and a pread's copy_to_user writes it:
    /// under a memcg, where the harness's pages are modelled, a load (pwrite) or store (pread) of each <c>buf</c> page one
    /// piece spans, after the call (the young bits reclaim later finds are those of the last piece's copy; the C
    /// program's 96 copies of a 24 MiB pwrite touch the same pages). Without them <c>buf</c> looked unused since
    /// warm_up and the next phase's reclaim swapped it out where Linux's folio_check_references keeps it. Its count.
    /// </summary>
    public static long BufCopy(StringBuilder? trace, HarnessFootprint? harness, PhaseProgram p, PhaseOp op)
    {
        if (harness is null)
            return 0;
        long len = PhaseProgram.Size(p.SourcePath, op.Line, op.Arg(2)!);
        long piece = op.Verb == "pwrite" && op.After("bs") is { } bs ? PhaseProgram.Size(p.SourcePath, op.Line, bs) : len;
        long[] pages = harness.BufPages(Math.Min(len, piece));
        if (trace is not null)
        {
            foreach (long i in pages)
                Access(trace, harness.PageAddr(i), op.Verb == "pread");
        }
        return pages.Length;
    }

    /// <summary>
    /// Stores to the harness pages <paramref name="pages"/> of <paramref name="h"/>, in order (a load to page <paramref name="load"/>,
    /// with <paramref name="loadsFirst"/> a load for the first access to each of <see cref="HarnessFootprint.LoadsFirst"/>'s pages); their count.
    /// </summary>
    private static long HarnessAccesses(StringBuilder trace, HarnessFootprint h, long[] pages, bool phaseEnd = false, long load = -1, bool loadsFirst = false)
    {
        // phase_end reads some of its pages only (HarnessFootprint.PhaseEndLoads, measured by oracle/experiments/harness-dirty):
        // a load leaves a swapped-in page clean in the swap cache with its slot and, after a fork, shared with the child.
        // Others it reads before it writes them (HarnessFootprint.LoadsFirst, oracle/experiments/harness-stores): the first
        // access decides whether a swap-in frees the slot.
        if (phaseEnd)
        {
            foreach (var (i, store) in h.PhaseEndAccesses(pages, loadsFirst))
                Access(trace, h.PageAddr(i), store && i != load);
            return pages.Length;
        }
        foreach (long i in pages)
            Access(trace, h.PageAddr(i), i != load);
        return pages.Length;
    }

    private static readonly Dictionary<string, Fixtures?> FixturesByDir = new(StringComparer.Ordinal);

    /// <summary>
    /// The harness's whole anonymous footprint in the recordings of <paramref name="p"/>, in pages (0 when it was not
    /// recorded yet): <see cref="HarnessKb"/> of its fixture.
    /// </summary>
    public static long HarnessPages(PhaseProgram p)
    {
        ProgramFigures? f = HarnessFixture(p);
        return f is null ? 0 : HarnessKb(f) / 4;
    }

    /// <summary>The recorded figures of <paramref name="p"/> (oracle/fixtures.json beside its programs folder), null if none.</summary>
    public static ProgramFigures? HarnessFixture(PhaseProgram p)
    {
        string dir = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(p.SourcePath))!)!;
        Fixtures? fx;
        lock (FixturesByDir)
        {
            if (!FixturesByDir.TryGetValue(dir, out fx))
            {
                string path = Path.Combine(dir, "fixtures.json");
                fx = File.Exists(path) ? Fixtures.Load(path) : null;
                FixturesByDir[dir] = fx;
            }
        }
        return fx?.Find(p.Name);
    }

    /// <summary>
    /// The harness's anonymous footprint (kB) a scenario models: every page the harness wrote before the first phase
    /// ended, resident or swapped out. The harness writes a fixed set of pages (oracle/README.md, "The harness's
    /// footprint"), so each run's figure (<see cref="ProgramFigures.HarnessKb"/>) is the same but for a stray page;
    /// the median run's (the lower middle one of an even count: a value some run had) does not move with the number of
    /// runs. A fixture recorded before the per-run figures were kept has only spreads: then smaps_rollup's Anonymous
    /// + Swap less the program's VMAs' Anonymous + Swap in the first phase, each the smallest over the runs — the
    /// runs' common figure only where the harness kept as many pages resident in every run (the rollup's Anonymous
    /// spread equal to its VMAs', as in every such fixture: <c>HarnessFootprintTests</c>), 0 if not recorded.
    /// </summary>
    public static long HarnessKb(ProgramFigures f)
    {
        if (f.HarnessKb is { Count: > 0 } runs)
        {
            long[] sorted = [.. runs];
            Array.Sort(sorted);
            return Math.Max(0, sorted[(sorted.Length - 1) / 2]);
        }
        PhaseFigures? first = f.Phases.FirstOrDefault();
        if (first is null || !first.Rollup.TryGetValue("Anonymous", out Spread anon))
            return 0;
        long swap = first.Rollup.TryGetValue("Swap", out Spread sw) ? sw.Min : 0;
        long regions = first.Vmas.Where(v => !v.InHeapArea).Sum(v => v.AnonKb.Min + v.SwapKb.Min);
        return Math.Max(0, anon.Min + swap - regions);
    }

    private static string DataPath(string file) => "../data/" + file;

    /// <summary>
    /// The write calls standing for the C harness's do_pwrite of [<paramref name="off"/>, <paramref name="off"/> +
    /// <paramref name="len"/>) in pieces of <paramref name="bs"/> bytes from a buf whose first <paramref name="data"/>
    /// bytes hold data and the rest zeros: per piece "length: N, offset: O" for its data, then the same with
    /// ", zero: true" for its zeros (a piece no longer than the data is one call of data).
    /// </summary>
    public static IEnumerable<string> PwritePieces(long off, long len, long bs, long data)
    {
        for (long done = 0; done < len;)
        {
            long n = Math.Min(len - done, bs), d = Math.Min(n, data);
            yield return string.Create(Inv, $"length: {d}, offset: {off + done}");
            if (n > d)
                yield return string.Create(Inv, $"length: {n - d}, offset: {off + done + d}, zero: true");
            done += n;
        }
    }

    private static void Event(StringBuilder t, long after, string proc, string op) =>
        t.Append(Inv, $"  - after: {after}\n    process: {proc}\n    {op}\n");

    private static void Access(StringBuilder t, ulong addr, bool write) =>
        t.Append(write ? " S " : " L ").Append(addr.ToString("x", Inv)).Append(",1\n");

    private static string ProtText(string p, bool shared) => p switch
    {
        "none" => "---",
        "r" => "r--",
        "rw" => "rw-",
        "rx" => "r-x",
        "rwx" => "rwx",
        _ => p,
    };
}
