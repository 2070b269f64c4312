using System.Globalization;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Memory;

namespace EcsMem.Systems.Task;

/// <summary>
/// kernel/fork.c and kernel/exit.c as the memory-management model needs them: the task list (pid order),
/// the address spaces (mm_alloc, dup_mm, each with its page table and TLB context), process creation, and
/// do_exit / mmput tearing an address space down when its last user goes.
/// </summary>
public sealed class TaskList(Kernel.Kernel kernel)
{
    private readonly List<string> _names = new();
    private readonly List<MmState?> _mms = new();
    private readonly List<Entity> _processes = new();

    private World World => kernel.World;

    /// <summary>
    /// kernel.pid_max (the kernel's default, PID_MAX_DEFAULT = 32768, which this machine's kernel also has): the
    /// highest pid plus one. Pids are not reused here, so it bounds the tasks (processes and threads) of a run.
    /// </summary>
    public const int PidMax = 32768;

    /// <summary>Tasks a run can have: pids 1 .. pid_max − 1.</summary>
    public const int MaxTasks = PidMax - 1;

    /// <summary>Processes in pid order (index = pid - 1).</summary>
    public IReadOnlyList<Entity> Processes => _processes;

    public string ProcessName(in Process p) => _names[p.NameIndex];

    public MmState? MmById(int id) => (uint)id < (uint)_mms.Count ? _mms[id] : null;

    public IEnumerable<MmState> LiveMms => _mms.Where(m => m is not null)!;

    /// <summary>One more than the highest mm id given out: <see cref="MmById"/> over 0 .. this − 1 visits every mm without allocating.</summary>
    public int MmIdLimit => _mms.Count;

    /// <summary>Some address space still has a user (mm_users &gt; 0): the machine has work a kernel thread's timer may matter to.</summary>
    public bool AnyMmAlive()
    {
        for (int id = 0; id < _mms.Count; id++)
            if (_mms[id] is { } mm && mm.Mm.Struct.MmUsers > 0)
                return true;
        return false;
    }

    public MmState MmOf(Entity process) => World.Get<MmRef>(World.Get<Process>(process).Mm).State;

    /// <summary>
    /// Whether <paramref name="task"/> still exists and is in <paramref name="state"/>: a fault in flight goes on
    /// only while its task is still waiting for it (a kill or an exit meanwhile ends the fault).
    /// </summary>
    public bool IsIn(Entity task, ProcessState state) => World.IsAlive(task) && World.Get<Process>(task).State == state;

    /// <summary>Creates an empty address space (mm_alloc) with its page table, TLB context and entity.</summary>
    public MmState CreateMm()
    {
        int id = _mms.Count;
        var mm = new Mm(id, kernel.Options.Paging, kernel.Files, World) { Commit = kernel.Commit, Hugetlb = kernel.Hugetlb };
        return Register(mm, id);
    }

    /// <summary>
    /// dup_mm: a child address space with copies of the parent's VMAs and its own (empty) page table; null when
    /// overcommit refuses the copies' charge (fork's -ENOMEM).
    /// </summary>
    public MmState? ForkMm(MmState parent)
    {
        int id = _mms.Count;
        kernel.Memcg?.MmForked(parent.Id, id); // before dup_mmap's page tables are charged
        if (parent.Mm.DupMmap(id) is not { } childMm)
            return null;
        MmState state = Register(childMm, id);
        kernel.Khugepaged.Fork(parent, state);
        // A trace without a layout keeps inferring its VMAs in the child: its copy of the address space is
        // as incomplete as the parent's was (without this a child touching a new block died with SIGSEGV).
        if (parent.Inferred is { } inferred)
            state.Inferred = new InferredLayout(state.Mm, inferred.Granularity);
        state.NoteHiwaterVm();
        return state;
    }

    private MmState Register(Mm mm, int id)
    {
        var charger = new PageTableCharger(kernel, id);
        var tables = new PageTable(kernel.Options.Paging, charger, kernel.PageTables);
        var state = new MmState(mm, tables, kernel.Tlb.CreateMm());
        mm.Struct.Pgd = tables.Root;
        mm.AnonVmaProbe = (start, end) =>
        {
            var probe = new AnonPageProbe(kernel);
            tables.VisitRange(start, end, ref probe);
            return probe.Found;
        };
        _mms.Add(state);
        kernel.Kcompactd.MmCreated();
        kernel.Flusher?.MmCreated();
        kernel.Vmstat?.MmCreated();
        state.Entity = World.Create(new MmRef { State = state });
        charger.Attach(state);
        return state;
    }

    /// <summary>Creates a process entity (task_struct) using <paramref name="mm"/>.</summary>
    public Entity CreateProcess(string name, MmState mm, int parentPid, ulong startTime, ProcessState state)
    {
        CheckPid();
        _names.Add(name);
        var p = new Process
        {
            Pid = _processes.Count + 1,
            ParentPid = parentPid,
            State = state,
            Mm = mm.Entity,
            NameIndex = _names.Count - 1,
            StartTime = startTime,
            ReadyTime = startTime,
            LastCpu = -1,
        };
        p.Tgid = p.Pid;
        Entity e = World.Create(p, new ProcessStats());
        _processes.Add(e);
        // mm->owner: the first task made with the address space (a thread or a CLONE_VM sharer comes later).
        if (mm.Owner.IsNull)
            mm.Owner = e;
        return e;
    }

    /// <summary>
    /// clone(CLONE_VM | CLONE_THREAD): a new task in <paramref name="leader"/>'s thread group that shares its
    /// address space (mmget: mm_users + 1). It starts at <paramref name="startTime"/>.
    /// </summary>
    public Entity CreateThread(Entity leader, string name, ulong startTime)
    {
        CheckPid();
        ref Process lp = ref World.Get<Process>(leader);
        MmState mm = MmOf(leader);
        mm.Mm.Struct.MmUsers++;
        _names.Add(name);
        var p = new Process
        {
            Pid = _processes.Count + 1,
            ParentPid = lp.ParentPid,
            Tgid = lp.Tgid,
            State = ProcessState.NotStarted,
            Mm = lp.Mm,
            NameIndex = _names.Count - 1,
            StartTime = startTime,
            ReadyTime = startTime,
            LastCpu = -1,
        };
        Entity e = World.Create(p, new ProcessStats());
        _processes.Add(e);
        return e;
    }

    /// <summary>A new task needs a pid below <see cref="PidMax"/> (callers that can fail, like fork, check first).</summary>
    private void CheckPid()
    {
        if (_processes.Count >= MaxTasks)
            throw new InvalidOperationException($"no pid left: pid_max is {PidMax}");
    }

    /// <summary>The live tasks of <paramref name="process"/>'s thread group (itself included), in pid order.</summary>
    public void ThreadGroup(Entity process, List<Entity> into)
    {
        into.Clear();
        int tgid = World.Get<Process>(process).Tgid;
        foreach (Entity e in _processes)
        {
            ref Process p = ref World.Get<Process>(e);
            if (p.Tgid == tgid && p.State is not (ProcessState.Exited or ProcessState.Killed))
                into.Add(e);
        }
    }
    /// <summary>Lines describing signals and OOM kills, in order.</summary>
    public List<string> KillLog { get; } = new();

    /// <summary>Kills a process with <paramref name="signal"/> (SIGSEGV, SIGKILL) and tears its address space down.</summary>
    public void KillProcess(Entity process, int signal, string why)
    {
        ref Process p = ref World.Get<Process>(process);
        if (p.State is ProcessState.Exited or ProcessState.Killed)
            return;
        KillLog.Add(string.Create(CultureInfo.InvariantCulture, $"{ProcessName(p)}[{p.Pid}]: killed by signal {signal}: {why}"));
        // A fatal signal ends the whole thread group (zap_other_threads), the target first.
        ThreadGroup(process, _group);
        p.ExitSignal = signal;
        DoExit(process, ProcessState.Killed);
        foreach (Entity t in _group)
        {
            if (t == process)
                continue;
            World.Get<Process>(t).ExitSignal = signal;
            DoExit(t, ProcessState.Killed);
        }
    }

    private readonly List<Entity> _group = new();

    /// <summary>The task ran to the end of its workload (a thread's pthread_exit; the process ends with its last thread).</summary>
    public void ExitProcess(Entity process) => DoExit(process, ProcessState.Exited);

    /// <summary>exit_group: every task of <paramref name="process"/>'s thread group exits (a timeline exit of the group leader).</summary>
    public void ExitGroup(Entity process)
    {
        ThreadGroup(process, _group);
        foreach (Entity t in _group)
            DoExit(t, ProcessState.Exited);
    }

    /// <summary>Parents in waitpid (<see cref="ProcessState.WaitingChild"/>) by the pid of the child they wait for.</summary>
    private readonly Dictionary<int, Entity> _waiters = new();

    /// <summary>waitpid(<paramref name="childPid"/>) by <paramref name="parent"/>: it sleeps until that child exits.</summary>
    public void WaitForChild(Entity parent, int childPid)
    {
        World.Get<Process>(parent).State = ProcessState.WaitingChild;
        _waiters[childPid] = parent;
    }

    /// <summary>Tasks in <see cref="ProcessState.Paused"/> (a parent's exit looks for its children among them only then).</summary>
    private int _paused;

    /// <summary>
    /// pause(2) until the parent exits (the timeline's <c>pause</c>): the task sleeps in TASK_INTERRUPTIBLE, holding its
    /// address space, until its parent's do_exit wakes it (the parent-death signal, or the end of file of a pipe only the
    /// parent writes, whose last descriptor the exit closes). schedule() switches it out: prepare_task_switch's
    /// rseq_preempt. A task whose parent has exited already, or that has none, does not sleep. Its result: 0.
    /// </summary>
    public long Pause(Entity task)
    {
        ref Process p = ref World.Get<Process>(task);
        if (p.ParentPid <= 0 || p.ParentPid > _processes.Count
            || World.Get<Process>(_processes[p.ParentPid - 1]).State is ProcessState.Exited or ProcessState.Killed)
            return 0;
        p.State = ProcessState.Paused;
        _paused++;
        Rseq.RseqPreempt(kernel, task);
        return 0;
    }

    /// <summary>
    /// Called at the start of do_exit, before exit_mm tears the address space down: the report samples the task's
    /// /proc/PID/status here, which is what a reader of that file saw last (whatever else the exit's tick did first).
    /// </summary>
    public Action<Entity>? ExitStarting { get; set; }

    /// <summary>
    /// do_exit → exit_mm → mmput: when the last user goes, exit_mmap zaps every VMA (freeing pages, swap
    /// slots and page tables), the TLB context is flushed, and mm_users/mm_count drop to zero.
    /// </summary>
    private void DoExit(Entity process, ProcessState final)
    {
        ExitStarting?.Invoke(process);
        ref Process p = ref World.Get<Process>(process);
        MmState mm = MmOf(process);
        kernel.Dirty?.Mm(mm.Id);
        if (p.State == ProcessState.Paused)
            _paused--; // killed in its sleep (the OOM killer)
        p.State = final;
        p.EndTime = kernel.Env.Now;
        // do_notify_parent: a parent in waitpid for this child wakes up (do_wait reaps it).
        if (_waiters.Count > 0 && _waiters.Remove(p.Pid, out Entity waiter))
        {
            ref Process w = ref World.Get<Process>(waiter);
            if (w.State == ProcessState.WaitingChild)
            {
                w.State = ProcessState.Runnable;
                w.ReadyTime = kernel.Env.Now;
            }
        }
        // The paused children of the task wake up (Pause): they go on with their workloads.
        if (_paused > 0)
        {
            foreach (Entity c in _processes)
            {
                ref Process cp = ref World.Get<Process>(c);
                if (cp.State == ProcessState.Paused && cp.ParentPid == p.Pid)
                {
                    cp.State = ProcessState.Runnable;
                    cp.ReadyTime = kernel.Env.Now;
                    _paused--;
                }
            }
        }
        kernel.Events?.ProcessExit(process, final == ProcessState.Killed);
        World.Get<ProcessStats>(process).RssPeak = (long)mm.HiwaterRss;
        ref MmStruct s = ref mm.Mm.Struct;
        mm.NoteHiwaterVm();
        s.MmUsers--;
        MmUpdateNextOwner(mm, process);
        if (s.MmUsers > 0)
            return;
        kernel.Khugepaged.Exit(mm); // __mmput → khugepaged_exit, before exit_mmap
        kernel.Kcompactd.MmGone(); // the last address space gone: kcompactd's timer no longer keeps the machine up
        kernel.Flusher?.MmGone(); // nor the flusher's periodic wakeup
        kernel.Vmstat?.MmGone(); // nor vmstat_update's
        foreach (var v in mm.Mm.Vmas.ToArray())
            kernel.Memory.ZapRange(mm, v.Start, v.End);
        kernel.Memory.ZapRange(mm, 0, kernel.Options.Paging.TaskSize); // anything left outside VMAs (never expected, but free it)
        mm.Mm.ExitMmap();
        // exit_mmap's vm_area_free and unlink_anon_vmas, __mmdrop's mm_struct and rss counters, the forked task's own.
        kernel.Memcg?.MmGone(mm.Id, mm.Mm, kernel.Tlb.CurrentCpu);
        kernel.Tlb.FlushTlbMm(mm.Tlb);
        // The root table (pgd) is freed last, by mm_free_pgd: its row goes back to the page-table store and
        // its entity, like every freed table's, is marked free.
        mm.Tables.Release();
        foreach (var (id, (e, pfn)) in mm.TablePages.ToArray())
        {
            World.Get<PageTableFrame>(e) = PageTableFrame.Free;
            kernel.Zone.FreeFrame(pfn, kernel.Tlb.CurrentCpu);
            mm.TablePages.Remove(id);
        }
        s.MmCount--;
        s.NrPtes = 0;
        s.PgtablesBytes = 0;
        // exit_files: the thread group's last task is gone with its mm; a memfd only it held is freed.
        kernel.OpenFiles.CloseAll(p.Tgid);
        kernel.Memcg?.SeqFilesReleaseAll(p.Tgid, kernel.Tlb.CurrentCpu);
    }

    /// <summary>
    /// mm_update_next_owner (kernel/exit.c), called by exit_mm once <paramref name="exiting"/> has left
    /// <paramref name="mm"/> (its mm_users already dropped here): when the exiting task owned the mm, mm->owner passes to
    /// another task still using it, looked for among the exiting task's children, then its siblings (the children lists
    /// hold group leaders only: a CLONE_THREAD thread is on neither), then every thread of every process, each in
    /// creation order (pid order here: pids are never reused); with no user left the owner is none. For EcsMem's
    /// CLONE_VM sharers, the threads of <see cref="CreateThread"/>, the last search finds the oldest live thread.
    /// </summary>
    private void MmUpdateNextOwner(MmState mm, Entity exiting)
    {
        if (mm.Owner != exiting)
            return;
        if (mm.Mm.Struct.MmUsers <= 0)
        {
            mm.Owner = Entity.Null;
            return;
        }
        ref Process p = ref World.Get<Process>(exiting);
        int pid = p.Pid, parentPid = p.ParentPid;
        // One pass for the three searches: the first child, sibling and task using the mm, in pid order.
        Entity child = Entity.Null, sibling = Entity.Null, any = Entity.Null;
        foreach (Entity e in _processes)
        {
            ref Process c = ref World.Get<Process>(e);
            if (c.Mm != mm.Entity || c.State is ProcessState.Exited or ProcessState.Killed)
                continue;
            bool leader = c.Tgid == c.Pid;
            if (leader && c.ParentPid == pid)
            {
                child = e;
                break;
            }
            if (leader && c.ParentPid == parentPid && sibling.IsNull)
                sibling = e;
            if (any.IsNull)
                any = e;
        }
        // None found with users left: Linux's race with get_task_mm (swapoff, /proc, ptrace) also leaves the owner NULL.
        mm.Owner = !child.IsNull ? child : !sibling.IsNull ? sibling : any;
    }

    /// <summary>Finds an anonymous page (not the zero page) or a swap entry: what an anon_vma would be there for.</summary>
    private struct AnonPageProbe(Kernel.Kernel kernel) : IPteRefVisitor
    {
        public bool Found;

        public void Visit(ulong va, ref ulong pte)
        {
            var p = new Pte(pte);
            if (p.IsSwap)
                Found = true;
            else if (MemoryOps.IsMapped(pte) && !p.Special && (int)p.Pfn != kernel.Zone.ZeroPfn && kernel.Zone.Frames[(int)p.Pfn].IsAnon)
                Found = true;
        }
    }

    /// <summary>
    /// Charges a frame for each page-table page an mm allocates and records it in the page's entity (the store
    /// row that holds its entries), so page tables show up in memory use (nr_ptes, VmPTE) and in the frame count
    /// as they do in Linux. The memcg charge's outcome goes back to the walk's caller (<see cref="PageTable.PteAlloc"/>),
    /// which knows the task and the stage and so decides on the reclaim a charge at memory.max owes.
    /// </summary>
    private sealed class PageTableCharger(Kernel.Kernel kernel, int mmId) : IPageTableAllocator
    {
        private MmState? _mm;
        private readonly List<(int PageId, int Level)> _early = new();

        public void Attach(MmState mm)
        {
            _mm = mm;
            foreach (var (id, level) in _early)
                TableAllocated(id, level);
            _early.Clear();
        }

        public PageTableCharge TableAllocated(int pageId, int level)
        {
            if (_mm is null)
            {
                _early.Add((pageId, level)); // the root, allocated inside the PageTable constructor
                return PageTableCharge.Uncharged;
            }
            // pagetable_alloc(GFP_PGTABLE_USER): a kernel allocation, MIGRATE_UNMOVABLE.
            int pfn = kernel.Zone.AllocFrame(kernel.Tlb.CurrentCpu, PageAlloc.MigrateType.Unmovable);
            if (pfn < 0)
                throw new InvalidOperationException("no frame left for a page table: the fault handler must reserve frames before walking");
            kernel.Zone.Frames[pfn].Flags |= FrameFlags.Slab;
            // GFP_PGTABLE_USER may reclaim: a charge that found a group at memory.max is returned, and the caller
            // reclaims that group for its task (in this tick at a fault's start, else in the next).
            PageTableCharge charge = PageTableCharge.Uncharged;
            if (kernel.Memcg is { } memcg)
                charge = memcg.ChargePageTable(pfn, mmId, kernel.Tlb.CurrentCpu, out long overHigh) is { } over ? PageTableCharge.OverMax(over.Id) : PageTableCharge.Charged(overHigh);
            kernel.Zone.PinFrame(pfn);
            kernel.Env.Counters.Increment(kernel.C.PageTablePages);
            Entity e = _mm.Tables.EntityOf(pageId);
            kernel.World.Get<PageTableFrame>(e) = new PageTableFrame { MmId = mmId, PageId = pageId, Level = level, Pfn = pfn, InUse = true };
            _mm.TablePages[pageId] = (e, pfn);
            _mm.Mm.Struct.NrPtes = _mm.Tables.NrPtes;
            _mm.Mm.Struct.PgtablesBytes = _mm.Tables.PgtablesBytes;
            return charge;
        }

        public void TableFreed(int pageId, int level)
        {
            var (e, pfn) = _mm!.TablePages[pageId];
            _mm.TablePages.Remove(pageId);
            kernel.World.Get<PageTableFrame>(e) = PageTableFrame.Free;
            kernel.Zone.FreeFrame(pfn, kernel.Tlb.CurrentCpu);
            _mm.Mm.Struct.NrPtes = _mm.Tables.NrPtes;
            _mm.Mm.Struct.PgtablesBytes = _mm.Tables.PgtablesBytes;
        }
    }
}
