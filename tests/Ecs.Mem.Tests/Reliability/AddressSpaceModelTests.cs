using System.Text.RegularExpressions;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Model-based test: seeded random programs of mmap/munmap/mprotect/brk/fork/exit and loads/stores run on a
/// small machine that swaps, and after every tick each process is compared with a reference model that only
/// knows address spaces: which pages are mapped with which permissions (from the operations), which were
/// touched. The simulator must agree on the VMAs, must keep every touched page resident or in swap (never
/// lost), and must kill a process with SIGSEGV exactly at the access the reference says is illegal.
/// </summary>
public partial class AddressSpaceModelTests
{
    private const ulong RegionA = 0x1000_0000;   // mmap/munmap/mprotect playground
    private const int RegionPages = 24;
    private const ulong HeapStart = 0x2000_0000; // brk playground
    private const int HeapMaxPages = 12;
    private const int Page = 4096;

    /// <summary>One page in the reference: mapped or not, its permissions, whether it holds data.</summary>
    private struct RefPage
    {
        public bool Mapped;
        public Prot Prot;
        public bool Touched;
    }

    private enum EvKind { Access, Mmap, Munmap, Mprotect, Brk, Fork, Exit }

    private sealed record Ev(EvKind Kind, ulong Addr = 0, int Pages = 0, Prot Prot = Prot.None, bool Write = false, string? Child = null, bool Fetch = false);

    /// <summary>A process's program and the reference state it starts from.</summary>
    private sealed class Script
    {
        public required string Name;
        public required RefPage[] Start;
        public required ulong StartBrk;
        public List<Ev> Events = new();
        public int? SegvAt;      // index of the access the reference says must be killed
        public int? ExitAfter;   // accesses done when the scripted exit happens
    }

    private static int Index(ulong va) =>
        va >= HeapStart ? RegionPages + (int)((va - HeapStart) / Page) : (int)((va - RegionA) / Page);

    private static ulong PageVa(int i) =>
        i < RegionPages ? RegionA + ((ulong)i * Page) : HeapStart + ((ulong)(i - RegionPages) * Page);

    // x86-64: a fetch needs PROT_EXEC. (The fault handler lets a fetch of a page not yet present map it, like
    // a read, but the retried fetch then dies on the NX page: the process is killed at that access either way.)
    private static bool Allowed(in RefPage p, bool write, bool fetch = false) =>
        p.Mapped && (fetch ? (p.Prot & Prot.Exec) != 0
            : write ? (p.Prot & Prot.Write) != 0
            : (p.Prot & (Prot.Read | Prot.Write | Prot.Exec)) != 0);

    // ------------------------------------------------------------------ the reference model

    private static void Apply(RefPage[] s, ref ulong brk, Ev e)
    {
        switch (e.Kind)
        {
            case EvKind.Access:
                s[Index(e.Addr)].Touched = true;
                break;
            case EvKind.Mmap: // MAP_FIXED: the old pages and their data are gone
                for (int i = 0; i < e.Pages; i++)
                    s[Index(e.Addr) + i] = new RefPage { Mapped = true, Prot = e.Prot };
                break;
            case EvKind.Munmap:
                for (int i = 0; i < e.Pages; i++)
                    s[Index(e.Addr) + i] = default;
                break;
            case EvKind.Mprotect:
                for (int i = 0; i < e.Pages; i++)
                    s[Index(e.Addr) + i].Prot = e.Prot;
                break;
            case EvKind.Brk:
                {
                    int oldTop = (int)((brk - HeapStart) / Page), newTop = (int)((e.Addr - HeapStart) / Page);
                    for (int i = newTop; i < oldTop; i++)
                        s[RegionPages + i] = default;
                    for (int i = oldTop; i < newTop; i++)
                        s[RegionPages + i] = new RefPage { Mapped = true, Prot = Prot.Read | Prot.Write };
                    brk = e.Addr;
                    break;
                }
        }
    }

    /// <summary>The reference state after <paramref name="accesses"/> accesses and <paramref name="ops"/> operations.</summary>
    private static RefPage[] Replay(Script sc, long accesses, int ops)
    {
        var s = (RefPage[])sc.Start.Clone();
        ulong brk = sc.StartBrk;
        long a = 0;
        int o = 0;
        foreach (Ev e in sc.Events)
        {
            if (e.Kind == EvKind.Access)
            {
                if (a == accesses) break;
                a++;
            }
            else
            {
                if (o == ops) break;
                o++;
            }
            Apply(s, ref brk, e);
        }
        return s;
    }

    // ------------------------------------------------------------------ random programs

    private static void Generate(Script sc, ref ReliabilityRng rng, List<Script> all, int depth, bool protNone)
    {
        var s = (RefPage[])sc.Start.Clone();
        ulong brk = sc.StartBrk;
        int accesses = 0;
        int length = 150 + rng.Below(150);
        while (accesses < length)
        {
            Ev e;
            int r = rng.Below(100);
            if (accesses == 0 || r < 80)
            {
                // Mostly legal accesses; about 1 in 300 goes anywhere (perhaps illegal).
                int page;
                bool write, fetch;
                if (accesses == 0 || rng.Below(300) != 0)
                {
                    var legal = Enumerable.Range(0, s.Length).Where(i => Allowed(s[i], false)).ToArray();
                    if (legal.Length == 0) { page = rng.Below(s.Length); write = false; }
                    else { page = legal[rng.Below(legal.Length)]; write = Allowed(s[page], true) && rng.Chance(50); }
                    fetch = !write && Allowed(s[page], false, fetch: true) && rng.Chance(30);
                }
                else
                {
                    page = rng.Below(s.Length);
                    write = rng.Chance(50);
                    fetch = !write && rng.Chance(30);
                }
                e = new Ev(EvKind.Access, PageVa(page) + (ulong)(rng.Below(Page / 8) * 8), Write: write, Fetch: fetch);
                sc.Events.Add(e);
                if (!Allowed(s[page], write, fetch))
                {
                    sc.SegvAt = accesses;
                    return; // the process dies here: nothing after it happens
                }
                accesses++;
            }
            else if (r < 86)
            {
                int start = rng.Below(RegionPages), n = 1 + rng.Below(Math.Min(6, RegionPages - start));
                Prot[] prots = protNone ? [Prot.Read, Prot.Read | Prot.Write, Prot.None, Prot.Read | Prot.Exec] : [Prot.Read, Prot.Read | Prot.Write, Prot.Read | Prot.Exec];
                e = new Ev(EvKind.Mmap, PageVa(start), n, prots[rng.Below(prots.Length)]);
                sc.Events.Add(e);
            }
            else if (r < 90)
            {
                int start = rng.Below(RegionPages), n = 1 + rng.Below(Math.Min(6, RegionPages - start));
                e = new Ev(EvKind.Munmap, PageVa(start), n);
                sc.Events.Add(e);
            }
            else if (r < 94)
            {
                // mprotect over a fully mapped range only (a hole gives ENOMEM after a partial change in Linux).
                int start = rng.Below(RegionPages), n = 1 + rng.Below(Math.Min(4, RegionPages - start));
                if (Enumerable.Range(start, n).Any(i => !s[i].Mapped))
                    continue;
                Prot[] prots = protNone ? [Prot.Read, Prot.Read | Prot.Write, Prot.None] : [Prot.Read, Prot.Read | Prot.Write, Prot.Read | Prot.Exec];
                e = new Ev(EvKind.Mprotect, PageVa(start), n, prots[rng.Below(prots.Length)]);
                sc.Events.Add(e);
            }
            else if (r < 97)
            {
                e = new Ev(EvKind.Brk, HeapStart + ((ulong)rng.Below(HeapMaxPages + 1) * Page));
                sc.Events.Add(e);
            }
            else if (r < 99 && depth < 2 && all.Count < 6)
            {
                var child = new Script { Name = $"{sc.Name}.{all.Count}", Start = (RefPage[])s.Clone(), StartBrk = brk };
                all.Add(child);
                sc.Events.Add(new Ev(EvKind.Fork, Child: child.Name));
                Generate(child, ref rng, all, depth + 1, protNone);
                continue;
            }
            else if (r >= 99 && accesses > 20)
            {
                sc.Events.Add(new Ev(EvKind.Exit));
                sc.ExitAfter = accesses;
                return;
            }
            else
            {
                continue;
            }
            Apply(s, ref brk, e);
        }
    }

    // ------------------------------------------------------------------ running it on the simulator

    private static MemoryAccess[] Trace(Script sc) =>
        sc.Events.Where(e => e.Kind == EvKind.Access)
            .Select(e => new MemoryAccess(e.Addr, 0, (ushort)(e.Fetch ? 4 : 8), e.Fetch ? AccessKind.Instr : e.Write ? AccessKind.Store : AccessKind.Load)).ToArray();

    private static AddressSpaceOp? ToOp(Ev e, Entity p, Func<string, Workload> childWorkload) => e.Kind switch
    {
        EvKind.Mmap => new AddressSpaceOp(AddressSpaceOpKind.Mmap, p)
        {
            Addr = e.Addr,
            Len = (ulong)e.Pages * Page,
            Prot = e.Prot,
            Flags = MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed,
        },
        EvKind.Munmap => new AddressSpaceOp(AddressSpaceOpKind.Munmap, p) { Addr = e.Addr, Len = (ulong)e.Pages * Page },
        EvKind.Mprotect => new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = e.Addr, Len = (ulong)e.Pages * Page, Prot = e.Prot },
        EvKind.Brk => new AddressSpaceOp(AddressSpaceOpKind.Brk, p) { Addr = e.Addr },
        EvKind.Fork => new AddressSpaceOp(AddressSpaceOpKind.Fork, p) { ChildName = e.Child, ChildWorkload = _ => childWorkload(e.Child!) },
        EvKind.Exit => new AddressSpaceOp(AddressSpaceOpKind.Exit, p),
        _ => null,
    };

    private static void ScheduleOps(SimMachine m, Script sc, Entity p, Func<string, Workload> childWorkload)
    {
        m.AttachTriggers(p);
        long accesses = 0;
        foreach (Ev e in sc.Events)
        {
            if (e.Kind == EvKind.Access) { accesses++; continue; }
            m.ScheduleAfterAccesses(accesses, ToOp(e, p, childWorkload)!);
        }
    }

    // The cases with protNone also mmap and mprotect pages PROT_NONE: a page keeps its frame under a non-present
    // _PAGE_PROTNONE entry, which munmap/exit must drop and fork must copy like a present one.
    [GeneratedRegex(@"pid (\d+) ")]
    private static partial Regex PidInLog();

    // Every case with 1, 2 and 4 CPUs: the reference model knows nothing of CPUs, so the simulator must agree with
    // it however the processes are spread over them (and the invariant checker, per-CPU state included, must pass).
    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (int cpus in new[] { 1, 2, 4 })
        {
            for (ulong seed = 1; seed <= 10; seed++)
                yield return new TestCaseData(seed, false, cpus);
            for (ulong seed = 1; seed <= 4; seed++)
                yield return new TestCaseData(seed, true, cpus);
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void SimulatorAgreesWithTheReferenceAfterEveryTick(ulong seed, bool protNone, int cpus)
    {
        var rng = new ReliabilityRng(seed);
        var scripts = new List<Script>();
        var rootStart = new RefPage[RegionPages + HeapMaxPages];
        for (int i = 0; i < RegionPages; i++)
            rootStart[i] = new RefPage { Mapped = true, Prot = Prot.Read | Prot.Write };
        int roots = 2;
        for (int r = 0; r < roots; r++)
        {
            var sc = new Script { Name = $"p{r}", Start = (RefPage[])rootStart.Clone(), StartBrk = HeapStart };
            scripts.Add(sc);
            Generate(sc, ref rng, scripts, 0, protNone);
        }
        var byName = scripts.ToDictionary(s => s.Name);

        // 384 KiB of RAM (96 frames, a third of them page tables) for up to seven processes touching 36 pages each:
        // reclaim and swap are constant, and the OOM killer may strike (which the address-space model cannot predict).
        using var m = new SimMachine(new KernelOptions { RamBytes = 384 << 10, SwapBytes = 4 << 20, Quantum = 37, Seed = seed, Cpus = cpus });
        var entities = new Dictionary<string, Entity>();
        Workload ChildWorkload(string name) => new(new ArrayTraceReader(name, Trace(byName[name])));
        m.AddressSpace.ChildCreated = (child, name) =>
        {
            entities[name] = child;
            ScheduleOps(m, byName[name], child, ChildWorkload);
        };
        for (int r = 0; r < roots; r++)
        {
            Script sc = scripts.Single(s => s.Name == $"p{r}");
            Entity p = m.AddProcess(sc.Name, mm =>
            {
                Assert.That(mm.Mm.DoMmap(RegionA, RegionPages * Page, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0), Is.EqualTo((long)RegionA));
                mm.Mm.Struct.StartBrk = mm.Mm.Struct.Brk = HeapStart;
            }, new Workload(new ArrayTraceReader(sc.Name, Trace(sc))));
            entities[sc.Name] = p;
            ScheduleOps(m, sc, p, ChildWorkload);
        }

        var checker = new InvariantChecker(m.Kernel);
        var opsApplied = new Dictionary<int, int>();
        int logSeen = 0;
        long ticks = 0, pageChecks = 0;
        while (!m.Finished)
        {
            m.Env.RunTick();
            ticks++;
            Assert.That(ticks, Is.LessThan(2_000_000), "the run does not finish");
            for (; logSeen < m.AddressSpace.Log.Count; logSeen++)
            {
                int pid = int.Parse(PidInLog().Match(m.AddressSpace.Log[logSeen]).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                opsApplied[pid] = opsApplied.GetValueOrDefault(pid) + 1;
            }
            var violations = checker.Check();
            Assert.That(violations, Is.Empty, $"tick {ticks}");
            foreach (var (name, e) in entities)
                pageChecks += CheckProcess(m, byName[name], e, opsApplied, ticks);
        }
        // Every script ran to its end: its last access, its SIGSEGV or its exit (or the OOM killer took it).
        int ooms = 0;
        foreach (var (name, e) in entities)
        {
            Script sc = byName[name];
            Process p = m.Kernel.World.Get<Process>(e);
            int total = sc.Events.Count(x => x.Kind == EvKind.Access);
            if (p.State == ProcessState.Killed && p.ExitSignal == 9)
            {
                ooms++;
                continue;
            }
            if (sc.SegvAt is { } segv)
            {
                Assert.That((p.State, p.ExitSignal), Is.EqualTo((ProcessState.Killed, 11)), $"{name} must die at access {segv}");
                Assert.That(m.Kernel.World.Get<ProcessStats>(e).Accesses, Is.EqualTo(segv), name);
            }
            else
            {
                Assert.That(p.State, Is.EqualTo(ProcessState.Exited), name);
                Assert.That(m.Kernel.World.Get<ProcessStats>(e).Accesses, Is.EqualTo(sc.ExitAfter ?? total), name);
            }
        }
        Assert.That(entities.Count, Is.EqualTo(scripts.Count), "every scripted fork happened");
        TestContext.Out.WriteLine($"seed {seed}, {cpus} CPUs: {scripts.Count} processes, {ticks} ticks, {pageChecks} page checks, " +
                                  $"pswpout {m.Env.Counters.Get("pswpout")}, segv {scripts.Count(s => s.SegvAt is not null)}, oom {ooms}");
        Assert.That(ooms, Is.LessThan(scripts.Count), "at least one process must run its whole script");
    }

    /// <summary>Compares one process with the reference; returns the number of pages compared.</summary>
    private static int CheckProcess(SimMachine m, Script sc, Entity e, Dictionary<int, int> opsApplied, long tick)
    {
        var k = m.Kernel;
        Process p = k.World.Get<Process>(e);
        long done = k.World.Get<ProcessStats>(e).Accesses;
        if (sc.SegvAt is { } segv)
            Assert.That(done, Is.LessThanOrEqualTo(segv), $"{sc.Name}: the illegal access {segv} succeeded");
        if (p.State == ProcessState.Killed && p.ExitSignal == 9)
            return 0; // the OOM killer: outside the model (the invariant checker still covers the teardown)
        if (p.State == ProcessState.Killed)
        {
            Assert.That(sc.SegvAt, Is.EqualTo((int)done), $"{sc.Name} was killed at access {done} (tick {tick}): {string.Join("; ", k.Tasks.KillLog)}");
            return 0;
        }
        if (p.State == ProcessState.Exited)
            return 0;
        RefPage[] want = Replay(sc, done, opsApplied.GetValueOrDefault(p.Pid));
        MmState mm = k.Tasks.MmOf(e);
        for (int i = 0; i < want.Length; i++)
        {
            ulong va = PageVa(i);
            int idx = mm.Mm.Vmas.FindVma(va);
            bool mapped = idx >= 0 && mm.Mm.Vmas[idx].Start <= va;
            string where = $"{sc.Name} page 0x{va:x} after {done} accesses (tick {tick})";
            Assert.That(mapped, Is.EqualTo(want[i].Mapped), where + ": mapped");
            if (mapped)
            {
                VmFlags f = mm.Mm.Vmas[idx].Flags;
                Prot got = ((f & VmFlags.Read) != 0 ? Prot.Read : 0) | ((f & VmFlags.Write) != 0 ? Prot.Write : 0) | ((f & VmFlags.Exec) != 0 ? Prot.Exec : 0);
                Assert.That(got, Is.EqualTo(want[i].Prot), where + ": permissions");
            }
            if (want[i].Mapped && want[i].Touched)
            {
                var pte = new Pte(mm.Tables.Lookup(va));
                bool kept = pte.Present || pte.IsSwap || (pte.Value & Pte.ProtNoneBit) != 0; // PROT_NONE keeps the frame
                Assert.That(kept, Is.True, where + $": touched page lost (PTE 0x{pte.Value:x})");
            }
        }
        return want.Length;
    }
}
