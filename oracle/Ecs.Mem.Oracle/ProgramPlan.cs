using EcsMem.Diagnostics;

namespace EcsMem.Oracle;

/// <summary>A region the program created (a mapping, a memfd mapping or a piece of the heap), as planned.</summary>
public sealed class Region
{
    public required string Name { get; init; }
    public required int Index { get; init; }
    /// <summary>anon, file, memfd, tmpfs or heap.</summary>
    public required string Kind { get; init; }
    /// <summary>Planned address in EcsMem (the C program uses the same one for fixed mappings).</summary>
    public ulong Base;
    public long Size;
    public bool Live = true;
    /// <summary>Whether the C program's address is only known at run time (heap, after the heap, mremap may-move).</summary>
    public bool Dynamic;
}

/// <summary>What the plan knows at the end of a phase: the accesses so far and the regions then alive.</summary>
public sealed record PhasePlan(string Name, long AccessesAtStart, long AccessesAtEnd, IReadOnlyList<(ulong Start, ulong End)> Windows)
{
    /// <summary>
    /// Where the C program reads the phase's VMAs: after the window (its faults are counted at <see cref="AccessesAtEnd"/>)
    /// and the harness pages phase_end touches before the program's first smaps record (HarnessFootprint.BeforeSnapshot).
    /// </summary>
    public long AccessesAtSnapshot { get; init; } = AccessesAtEnd;
}

/// <summary>
/// The layout both generators share: every fixed region gets its own 2 TiB slot from 16 TiB up (far from the
/// kernel's own choices in both Linux with ASLR off and EcsMem), <c>after R</c> places a region right after R,
/// <c>at OFF</c> shifts it inside its slot; the heap begins at EcsMem's start_brk for the exec layout the
/// scenario uses. It also counts each phase's accesses, so phase boundaries are access counts.
/// </summary>
public sealed class ProgramPlan
{
    /// <summary>The first slot; slots are <see cref="SlotSize"/> apart.</summary>
    public const ulong SlotBase = 0x1000_0000_0000;
    public const ulong SlotSize = 0x200_0000_0000;
    /// <summary>Where the scenario's warm-up prelude maps cached files (below every slot).</summary>
    public const ulong PreludeBase = 0x0f00_0000_0000;
    /// <summary>
    /// A page read once by the scenario's prelude (it then maps the zero page, which reclaim never takes) and
    /// once at the start of every phase: it separates the access count where one phase ends from the one where
    /// the next phase's operations run, and never faults again.
    /// </summary>
    public const ulong MarkerAddr = 0x0e00_0000_0000;
    /// <summary>EcsMem's start_brk for <c>exec: {text: 64K, data: 16K, bss: 16K, heap: 0}</c> (text at 0x400000).</summary>
    public const ulong ExecStartBrk = 0x40_0000 + (64 << 10) + (16 << 10) + (16 << 10);
    public const int PageSize = 4096;

    public PhaseProgram Program { get; }
    public IReadOnlyList<Region> Regions => _regions;
    public IReadOnlyList<PhasePlan> Phases => _phases;
    /// <summary>Accesses of the warm-up prelude (cached files read once before the first phase).</summary>
    public long PreludeAccesses { get; }
    /// <summary>The page offsets a <c>touch-random</c> op reads, by its line.</summary>
    public IReadOnlyDictionary<int, int[]> RandomPages => _random;

    private readonly List<Region> _regions = new();
    private readonly List<PhasePlan> _phases = new();
    private readonly Dictionary<int, int[]> _random = new();
    private readonly Dictionary<int, long> _sizeAt = new();
    private readonly Dictionary<int, ulong> _baseAt = new();

    /// <summary>The address an mmap, memfd or mremap op gives its region (a later mremap may move the region).</summary>
    public ulong BaseAt(PhaseOp op) => _baseAt[op.Line];
    private int _slots;

    /// <param name="program">The kit program.</param>
    /// <param name="moved">
    /// Where EcsMem's run puts each region an <c>mremap R SIZE maymove</c> moves, by the op's line (found by the
    /// scenario generator's probe; <see cref="GeneratedScenario.Moves"/>): the region's later windows follow it.
    /// Without it the region keeps its old address in the plan (the C program learns the new one at run time).
    /// </param>
    public ProgramPlan(PhaseProgram program, IReadOnlyDictionary<int, ulong>? moved = null)
    {
        Program = program;
        long accesses = 1; // the marker page's first read (ScenarioGenerator)
        foreach (DataFile f in program.Files)
            if (f.Warm)
                accesses += f.Size / PageSize;
        HarnessFootprint? harness = program.MemcgLimit is not null ? HarnessFootprint.Of(program) : null;
        accesses += harness?.Prelude.Length ?? 0; // the harness's own pages under a memcg (HarnessFootprint)
        PreludeAccesses = accesses;
        ulong brk = ExecStartBrk;
        bool firstPhase = true;
        foreach (Phase ph in program.Phases)
        {
            if (!firstPhase)
                accesses += (harness?.BetweenPhasesAfter(_phases.Count).Length ?? 0) + (harness?.RecordGrowth(_phases.Count).Length ?? 0); // between phases, outside both windows
            firstPhase = false;
            long start = accesses;
            accesses++; // the phase's marker read, before its operations
            accesses += ScenarioGenerator.StartPages(harness); // phase_start's getrusage and stores
            foreach (PhaseOp op in ph.Ops)
            {
                switch (op.Verb)
                {
                    case "mmap":
                    case "memfd":
                    case "memfd-map":
                    case "tmpfs":
                        {
                            long size = op.Verb switch
                            {
                                "mmap" => PhaseProgram.Size(program.SourcePath, op.Line, op.Arg(1) == "file" ? op.Arg(3)! : op.Arg(2)!),
                                "memfd" => PhaseProgram.Size(program.SourcePath, op.Line, op.After("map") ?? op.Arg(1)!),
                                "tmpfs" => PhaseProgram.Size(program.SourcePath, op.Line, op.Arg(2)!),
                                _ => Find(op, op.Arg(1)!).Size,
                            };
                            var r = new Region { Name = op.Arg(0)!, Index = _regions.Count, Kind = op.Verb switch { "mmap" => op.Arg(1)!, "tmpfs" => "tmpfs", _ => "memfd" }, Size = size };
                            if (op.After("after") is { } prev)
                            {
                                Region p = Find(op, prev);
                                r.Base = p.Base + (ulong)p.Size;
                                r.Dynamic = p.Dynamic;
                            }
                            else
                            {
                                r.Base = NewSlot() + (op.After("at") is { } at ? (ulong)PhaseProgram.Size(program.SourcePath, op.Line, at) : 0);
                            }
                            Add(op, r);
                            _baseAt[op.Line] = r.Base;
                            break;
                        }
                    case "create":
                        // A descriptor, not a mapping: a region of no address, never compared (its file is mapped by mmap).
                        Add(op, new Region { Name = op.Arg(0)!, Index = _regions.Count, Kind = "created", Size = 0, Live = false });
                        break;
                    case "brk":
                        {
                            long size = PhaseProgram.Size(program.SourcePath, op.Line, op.Arg(1)!);
                            Add(op, new Region { Name = op.Arg(0)!, Index = _regions.Count, Kind = "heap", Base = brk, Size = size, Dynamic = true });
                            brk += (ulong)size;
                            break;
                        }
                    case "touch":
                        _sizeAt[op.Line] = Find(op, op.Arg(0)!).Size;
                        // A read's store to the harness's sink after each load (ScenarioGenerator.SinkStore).
                        accesses += TouchOffsets(op).Count() * (1 + ScenarioGenerator.SinkStore(null, harness, op.Arg(1) == "write"));
                        break;
                    case "touch-sigbus":
                        accesses++;
                        break;
                    case "pwrite" or "pread" when ScenarioSupport.Fds:
                        // The copy's accesses to the harness's buf (ScenarioGenerator.BufCopy).
                        accesses += ScenarioGenerator.BufCopy(null, harness, program, op);
                        break;
                    case "touch-random":
                        {
                            Region r = Find(op, op.Arg(0)!);
                            int count = int.Parse(op.Arg(2)!, System.Globalization.CultureInfo.InvariantCulture);
                            int seed = int.Parse(op.Arg(3)!, System.Globalization.CultureInfo.InvariantCulture);
                            _random[op.Line] = RandomPagesOf((int)(r.Size / PageSize), count, seed);
                            accesses += count * (1 + ScenarioGenerator.SinkStore(null, harness, op.Arg(1) == "write"));
                            break;
                        }
                    case "munmap":
                        if (op.Arg(1) is null)
                            Find(op, op.Arg(0)!).Live = false;
                        break;
                    case "mremap":
                        {
                            Region r = Find(op, op.Arg(0)!);
                            r.Size = PhaseProgram.Size(program.SourcePath, op.Line, op.Arg(1)!);
                            if (op.Has("fixed"))
                                r.Base = NewSlot();
                            else if (op.Has("maymove"))
                            {
                                r.Dynamic = true;
                                if (moved is not null && moved.TryGetValue(op.Line, out ulong to))
                                    r.Base = to;
                            }
                            _baseAt[op.Line] = r.Base;
                            break;
                        }
                }
            }
            accesses += ScenarioGenerator.EndPages(ph, harness); // the closing getrusage's stores
            long end = accesses;
            accesses += ScenarioGenerator.SettlePages(ph, harness); // fork_settle's stores, left out of the phase
            accesses += harness?.AfterWindow.Length ?? 0; // phase_end right after its getrusage
            accesses += (harness?.BeforeSnapshot(_phases.Count == 0).Length ?? 0) + (harness?.RecordHead(_phases.Count + 1).Length ?? 0); // phase_end before it reads smaps, outside the window
            var windows = _regions.Where(r => r.Live).Select(r => (r.Base, r.Base + (ulong)r.Size)).ToList();
            _phases.Add(new PhasePlan(ph.Name, start, end, windows) { AccessesAtSnapshot = accesses });
        }
    }

    private ulong NewSlot() => SlotBase + ((ulong)_slots++ * SlotSize);

    private void Add(PhaseOp op, Region r)
    {
        if (_regions.Any(x => x.Name == r.Name))
            throw new InputException(Program.SourcePath, op.Line, r.Name, "a region of that name exists already");
        _regions.Add(r);
    }

    /// <summary>The region named <paramref name="name"/>.</summary>
    public Region Find(PhaseOp op, string name) =>
        _regions.FirstOrDefault(r => r.Name == name) ?? throw new InputException(Program.SourcePath, op.Line, name, "no such region");

    /// <summary>The byte offsets a <c>touch R read|write [OFF LEN [STRIDE]]</c> accesses, in order.</summary>
    public IEnumerable<long> TouchOffsets(PhaseOp op)
    {
        long size = _sizeAt[op.Line]; // the region's size when the touch runs (mremap may change it later)
        long off = op.Arg(2) is { } o ? PhaseProgram.Size(Program.SourcePath, op.Line, o) : 0;
        long len = op.Arg(3) is { } l ? PhaseProgram.Size(Program.SourcePath, op.Line, l) : size - off;
        long stride = op.Arg(4) is { } s ? PhaseProgram.Size(Program.SourcePath, op.Line, s) : PageSize;
        for (long x = off; x < off + len; x += stride)
            yield return x;
    }

    /// <summary>
    /// <paramref name="count"/> distinct pages of <paramref name="pages"/>, in a random order: a partial
    /// Fisher–Yates shuffle driven by xorshift64 from <paramref name="seed"/> (the same list goes into the C
    /// program as a table, so both sides read the same pages).
    /// </summary>
    public static int[] RandomPagesOf(int pages, int count, int seed)
    {
        int[] all = Enumerable.Range(0, pages).ToArray();
        ulong x = 0x9E3779B97F4A7C15UL ^ (ulong)seed;
        for (int i = 0; i < count && i < pages; i++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            int j = i + (int)(x % (ulong)(pages - i));
            (all[i], all[j]) = (all[j], all[i]);
        }
        return all[..Math.Min(count, pages)];
    }
}
