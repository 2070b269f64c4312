using System.Text;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// Takes the <c>--snapshot</c> pictures of a running machine, always between ticks. <c>Na</c> and cycle times
/// are exact whatever the batch size: the recorder arms <see cref="Cpu.AccessStage.AccessMark"/> and
/// <see cref="Cpu.AccessStage.TimeMark"/> so the tick that reaches the next one ends there. <c>0a</c> and
/// <c>0</c> are taken before the first tick (the address spaces as exec and the layouts built them).
/// Call <see cref="Start"/> before the first
/// tick, <see cref="AfterTick"/> after every tick and <see cref="Finish()"/> after the run. <c>peak</c> needs the
/// whole run to be known: the buddy allocator keeps the lowest free count and the allocation that first reached
/// it (<see cref="PageAlloc.BuddyAllocator.MinFreeAt"/>); <see cref="Peak"/> reads them after the run and
/// <see cref="CapturePeak"/> takes the snapshot in a second, identical run that stops right after that allocation.
/// </summary>
public sealed class SnapshotRecorder
{
    private readonly Machine.Machine _m;
    private readonly IReadOnlyList<SnapshotWhen> _whens;
    private readonly Snapshot?[] _taken;
    private readonly List<int> _byAccesses; // indices into _whens, by mark
    private readonly List<int> _byCycles;
    private int _nextAccess, _nextCycle;
    private long _allocsAtStart = -1;

    public SnapshotRecorder(Machine.Machine machine, IReadOnlyList<SnapshotWhen> whens)
    {
        _m = machine;
        _whens = whens;
        _taken = new Snapshot?[whens.Count];
        _byAccesses = Enumerable.Range(0, whens.Count).Where(i => whens[i].Kind == SnapshotWhenKind.Accesses).OrderBy(i => whens[i].Value).ToList();
        _byCycles = Enumerable.Range(0, whens.Count).Where(i => whens[i].Kind == SnapshotWhenKind.Cycles).OrderBy(i => whens[i].Value).ToList();
    }

    /// <summary>
    /// When positive, each process snapshot also carries its populated page tables (<see cref="ProcessSnapshot.PageTables"/>),
    /// at most this many non-empty PTE-level entries per process: leaf tables past the cap are left out whole
    /// (the upper levels are always kept). 0 (the default): no page tables.
    /// </summary>
    public int PageTableEntryCap { get; init; }

    /// <summary>When true, each process snapshot also carries its /proc/PID/smaps (<see cref="ProcessSnapshot.Smaps"/>; <c>--smaps</c>).</summary>
    public bool WithSmaps { get; init; }

    /// <summary>Before the first tick: takes what is due at 0 and arms the first marks.</summary>
    public void Start()
    {
        _allocsAtStart = _m.Kernel.Zone.Buddy.AllocCount;
        AfterTick();
    }

    /// <summary>True when one of the moments is <c>peak</c> (the caller then runs <see cref="CapturePeak"/>).</summary>
    public bool WantsPeak => _whens.Any(w => w.Kind == SnapshotWhenKind.Peak);

    /// <summary>
    /// After the run: the least free memory and the allocation that first reached it. At the start when no allocation
    /// of the run went below the free count the machine was built with (<see cref="Start"/> not called: none did).
    /// </summary>
    public PeakPoint Peak()
    {
        PageAlloc.BuddyAllocator b = _m.Kernel.Zone.Buddy;
        long startAllocs = _allocsAtStart < 0 ? b.AllocCount : _allocsAtStart;
        bool atStart = b.MinFreeAt <= startAllocs;
        return new PeakPoint(b.MinFreePages, atStart ? startAllocs : b.MinFreeAt, atStart);
    }

    /// <summary>
    /// The <c>peak</c> snapshot: runs <paramref name="fresh"/> — a machine built exactly as the measured one (same
    /// scenario, options and warm-up), not yet run — until the buddy allocator's allocation count reaches
    /// <paramref name="point"/>'s and captures it at the end of that allocation, inside the tick (so nothing the
    /// same tick does afterwards, such as reclaim freeing pages, hides the minimum). The run is deterministic, so
    /// the free count there is the minimum; anything else is a simulator bug and throws.
    /// <paramref name="stop"/> (a signal) abandons it: the snapshot is then "not reached".
    /// </summary>
    public static Snapshot CapturePeak(Machine.Machine fresh, PeakPoint point, Func<bool>? stop = null, bool withSmaps = false)
    {
        var recorder = new SnapshotRecorder(fresh, [SnapshotWhen.Peak]) { WithSmaps = withSmaps };
        Snapshot? taken = null;
        PageAlloc.Zone zone = fresh.Kernel.Zone;
        if (point.AtStart || zone.Buddy.AllocCount >= point.AllocCount)
            taken = recorder.Capture("peak");
        else
        {
            zone.AllocMark = point.AllocCount;
            zone.AllocMarkReached = () => taken = recorder.Capture("peak");
            fresh.Run(stop: () => taken is not null || (stop?.Invoke() ?? false), checkEvery: 1);
            zone.AllocMarkReached = null;
        }
        if (taken is null)
            return recorder.NotReached("peak");
        long free = taken.MemInfo.First(v => v.Name == "MemFree").Value / (long)(Pte.PageSize / 1024);
        if (free != point.FreePages)
            throw new InvalidOperationException(
                $"--snapshot peak: the second run had {free} pages free after allocation {point.AllocCount}, the first run's minimum was {point.FreePages}");
        return taken with { Peak = point };
    }

    /// <summary>Between two ticks: takes every snapshot now due and arms the next marks.</summary>
    public void AfterTick()
    {
        Cpu.AccessStage stage = _m.Access;
        long done = stage.CompletedAccesses;
        while (_nextAccess < _byAccesses.Count && _whens[_byAccesses[_nextAccess]].Value <= done)
        {
            int i = _byAccesses[_nextAccess++];
            _taken[i] = Capture(_whens[i].Text);
        }
        stage.AccessMark = _nextAccess < _byAccesses.Count ? _whens[_byAccesses[_nextAccess]].Value : -1;

        ulong now = stage.MachineTime();
        while (_nextCycle < _byCycles.Count && (ulong)_whens[_byCycles[_nextCycle]].Value <= now)
        {
            int i = _byCycles[_nextCycle++];
            _taken[i] = Capture(_whens[i].Text);
        }
        stage.TimeMark = _nextCycle < _byCycles.Count ? (ulong)_whens[_byCycles[_nextCycle]].Value : ulong.MaxValue;

    }

    /// <summary>After the run: takes <c>end</c> and returns the snapshots in the order given (the ones never reached marked so).</summary>
    public IReadOnlyList<Snapshot> Finish() => Finish(null);

    /// <summary>As <see cref="Finish()"/>, with <paramref name="peak"/> (from <see cref="CapturePeak"/>) for every <c>peak</c>.</summary>
    public IReadOnlyList<Snapshot> Finish(Snapshot? peak)
    {
        var list = new List<Snapshot>(_whens.Count);
        Snapshot? end = null;
        for (int i = 0; i < _whens.Count; i++)
        {
            Snapshot? s = _whens[i].Kind switch
            {
                SnapshotWhenKind.End => end ??= Capture("end"),
                SnapshotWhenKind.Peak => peak,
                _ => _taken[i],
            };
            list.Add(s ?? NotReached(_whens[i].Text));
        }
        return list;
    }

    /// <summary>A moment not taken for <paramref name="because"/> (e.g. <c>peak</c> of an interrupted run).</summary>
    public Snapshot NotTaken(string when, string because) => NotReached(when) with { NotTakenBecause = because };

    private Snapshot NotReached(string when) => new()
    {
        When = when,
        Reached = false,
        Cycles = _m.Env.Now,
        Accesses = _m.Access.CompletedAccesses,
        Processes = [],
        MemInfo = [],
        BuddyFree = [],
        BuddyInfo = "",
    };

    /// <summary>The machine now: each live thread-group leader's mm_struct and VMAs, /proc/meminfo and /proc/buddyinfo.</summary>
    public Snapshot Capture(string when)
    {
        Kernel.Kernel k = _m.Kernel;
        World world = k.World;
        var processes = new List<ProcessSnapshot>();
        var sb = new StringBuilder(128);
        for (int i = 0; i < k.Tasks.Processes.Count; i++)
        {
            Entity e = k.Tasks.Processes[i];
            ref Process p = ref world.Get<Process>(e);
            if (p.State is ProcessState.Exited or ProcessState.Killed || p.Tgid != p.Pid)
                continue;
            Mm mm = k.Tasks.MmOf(e).Mm;
            var vmas = new List<VmaSnapshot>(mm.Vmas.Count + 1);
            int ptr = mm.Mode.PointerSize;
            MmState state = k.Tasks.MmOf(e);
            foreach (ref readonly Vma v in mm.Vmas)
                vmas.Add(VmaOf(sb, v, mm, ptr, state.Tables, k.Zone.ZeroPfn));
            if (mm.GateVma is Vma gate)
                vmas.Add(VmaOf(sb, gate, mm, ptr, state.Tables, k.Zone.ZeroPfn));
            processes.Add(new ProcessSnapshot(p.Pid, k.Tasks.ProcessName(p), StateName(p.State), mm.Struct, vmas)
            {
                SmapsRollup = Reporting.SmapsRollup.Build(k, k.Tasks.MmOf(e)),
                Smaps = WithSmaps ? Reporting.Smaps.Build(k, state) : null,
                PageTables = PageTableEntryCap > 0 ? DumpTables(world, state.Tables, PageTableEntryCap) : null,
            });
        }

        MemoryGauges gauges = MemoryGauges.Read(k);
        return new Snapshot
        {
            When = when,
            Reached = true,
            Cycles = _m.Env.Now,
            Accesses = _m.Access.CompletedAccesses,
            Processes = processes,
            MemInfo = MemInfo.Build(gauges),
            BuddyFree = k.Zone.Buddy.NrFree.ToArray(),
            BuddyInfo = k.Zone.Buddy.FormatBuddyInfo(),
            PageTypeInfo = PageAlloc.PageTypeInfo.Format(k.Zone.Buddy),
            PageTypes = PageTypeFigures.Read(k.Zone.Buddy),
            VmStat = Reporting.VmStat.Build(gauges, _m.Env.Counters),
            ZoneInfo = Reporting.ZoneInfo.Build(k, gauges),
            Cgroups = k.Memcg is null ? null : MemcgFiles.Read(k),
            LruGen = LruGenFiles.Read(k),
        };
    }

    private static VmaSnapshot VmaOf(StringBuilder sb, in Vma v, Mm mm, int ptr, PageTable tables, int zeroPfn)
    {
        sb.Clear();
        ProcMaps.WriteVma(sb, v, mm.Files, ptr);
        sb.Length--; // the newline
        var count = new SmapsCounter { ZeroPfn = (ulong)zeroPfn };
        // The gate area ([vsyscall]) lies above TASK_SIZE: no user page table maps it.
        if (v.Start < tables.Mode.TaskSize)
            tables.VisitRange(v.Start, Math.Min(v.End, tables.Mode.TaskSize), ref count);
        return new VmaSnapshot(sb.ToString(), v.Start, v.End, v.Flags, v.PgOff, v.Kind) { Rss = count.Rss, Swap = count.Swap };
    }

    /// <summary>smaps_pte_entry (fs/proc/task_mmu.c): a present normal page adds to Rss, a swap entry to Swap; the zero page is not a normal page.</summary>
    private struct SmapsCounter : IPteRefVisitor
    {
        public ulong ZeroPfn;
        public long Rss, Swap;

        public void Visit(ulong va, ref ulong pte)
        {
            var p = new Pte(pte);
            if (p.Present)
            {
                if (p.Pfn != ZeroPfn)
                    Rss++;
            }
            else if (p.IsSwap)
            {
                Swap++;
            }
        }
    }

    /// <summary>The populated tables of <paramref name="pt"/>, root first then depth first by address; leaf tables past <paramref name="cap"/> entries left out.</summary>
    private static PageTablesSnapshot? DumpTables(World world, PageTable pt, int cap)
    {
        if (pt.IsReleased)
            return null;
        var tables = new List<PageTablePageSnapshot>();
        long leafLeft = cap;
        int omittedTables = 0;
        long omittedEntries = 0;
        var index = new List<int>();
        var entry = new List<ulong>();

        void Visit(int id)
        {
            int level = pt.LevelOf(id);
            ReadOnlySpan<ulong> entries = pt.Entries(id);
            index.Clear();
            entry.Clear();
            for (int i = 0; i < entries.Length; i++)
            {
                if (entries[i] != 0)
                {
                    index.Add(i);
                    entry.Add(entries[i]);
                }
            }
            if (level == 0)
            {
                if (index.Count > leafLeft)
                {
                    omittedTables++;
                    omittedEntries += index.Count;
                    return;
                }
                leafLeft -= index.Count;
            }
            long frame = world.TryGet(pt.EntityOf(id), out PageTableFrame f) && f.InUse ? f.Pfn : -1;
            int[] idx = [.. index];
            ulong[] ent = [.. entry];
            tables.Add(new PageTablePageSnapshot(id, level, frame, idx, ent));
            if (level == 0)
                return;
            for (int i = 0; i < ent.Length; i++)
            {
                if ((ent[i] & Pte.PresentBit) != 0)
                    Visit((int)((ent[i] & Pte.PfnMask) >> Pte.PageShift));
            }
        }

        Visit(pt.Root);
        return new PageTablesSnapshot(pt.Root, tables, omittedTables, omittedEntries);
    }

    private static string StateName(ProcessState s) => s switch
    {
        ProcessState.NotStarted => "not-started",
        ProcessState.Runnable => "running",
        ProcessState.Faulting => "faulting",
        ProcessState.SleepingIo => "sleeping-io",
        ProcessState.Exited => "exited",
        ProcessState.WaitingChild => "waiting",
        ProcessState.Paused => "paused",
        _ => "killed",
    };
}
