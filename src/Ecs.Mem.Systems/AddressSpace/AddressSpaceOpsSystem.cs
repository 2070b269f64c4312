using System.Globalization;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// Applies the scenario's timeline of address-space system calls when their time comes: mmap, munmap,
/// mprotect, brk, fork and exit, with Linux semantics (the VMA work is <see cref="Mm"/>'s; this system adds
/// what the page tables, frames, swap and TLB must see: zap_page_range, change_protection,
/// copy_page_range with copy-on-write, and the TLB flushes). It runs first in a tick, so an operation due
/// at time t happens before any access at t.
/// </summary>
public sealed class AddressSpaceOpsSystem : ISystem, IEventHandler
{
    private readonly Kernel.Kernel _k;
    private readonly List<AddressSpaceOp> _ops = new();
    private readonly List<(AddressSpaceOp Op, ulong Time)> _due = new();
    private readonly List<VmaChange> _changes = new();
    private readonly List<(ulong Va, ulong Pte)> _moved = new();
    private readonly int _kind;

    public AddressSpaceOpsSystem(Kernel.Kernel kernel, SimEnvironment env)
    {
        _k = kernel;
        _kind = env.RegisterEventKind("syscall", this);
        _k.OpenFiles.CallReturned = CallReturned;
    }

    /// <summary>The write(2) and read(2) calls in progress (their tasks step them, <see cref="Filemap.OpenFiles.CallStep"/>): the call and what its log line needs.</summary>
    private readonly List<(AddressSpaceOp Op, int Pid, int Cpu, bool Leader, string? Path)> _inCall = new();

    /// <summary>Calls a task made while inside write(2) or read(2), in order: they come after it returns (a task makes one call at a time).</summary>
    private readonly List<AddressSpaceOp> _held = new();

    public string Name => "address-space";

    /// <summary>Called when a fork creates a child (the machine attaches its access-count triggers).</summary>
    public Action<Entity, string>? ChildCreated { get; set; }

    /// <summary>Schedules a child forked with a start delay to become runnable at the given time (set by the machine).</summary>
    public Action<Entity, ulong>? ScheduleChildStart { get; set; }

    /// <summary>
    /// mm_populate for the calling task: the range is faulted in by that task before its next access (set by the
    /// machine to the access stage's prefault; null: nothing is prefaulted).
    /// </summary>
    public Action<Entity, ulong, ulong>? Populate { get; set; }

    /// <summary>What each operation did, in order, in strace form ("t=0 pid 3 munmap(0x7f0000000000, 4096)        = 0"), for the report.</summary>
    public List<string> Log { get; } = new();

    /// <summary>Schedules <paramref name="op"/> at simulated time <paramref name="at"/>.</summary>
    public void Schedule(SimEnvironment env, ulong at, AddressSpaceOp op)
    {
        _ops.Add(op);
        env.ScheduleAt(at, new SimEvent(_kind, op.Process, _ops.Count - 1));
    }

    public void Handle(SimEnvironment env, in SimEvent ev) => _due.Add((_ops[(int)ev.Arg0], env.EventTime));

    public void Update(SimEnvironment env)
    {
        if (_due.Count == 0)
            return; // most ticks: no operation fell due
        foreach (var (op, time) in _due)
        {
            if (_inCall.Count > 0 && InCall(op.Process) >= 0)
                _held.Add(op);
            else
                Apply(env, op, time);
        }
        _due.Clear();
    }

    /// <summary>The index of <paramref name="process"/>'s call in progress, or -1.</summary>
    private int InCall(Entity process)
    {
        for (int i = 0; i < _inCall.Count; i++)
            if (_inCall[i].Op.Process == process)
                return i;
        return -1;
    }

    /// <summary>
    /// A write(2) or read(2) returned (its last page done, <paramref name="result"/> bytes): its log line is written with
    /// the time of its return (as strace prints a call when it returns), and the calls its task made meanwhile are due now.
    /// </summary>
    private void CallReturned(SimEnvironment env, Entity process, long result)
    {
        int i = InCall(process);
        if (i < 0)
            return;
        var (op, pid, cpu, leader, path) = _inCall[i];
        _inCall.RemoveAt(i);
        string strace = Strace.Format(op, result, 0, path, leader);
        Log.Add(string.Create(CultureInfo.InvariantCulture, $"t={env.Now} pid {pid} {strace}"));
        _k.Events?.Syscall(pid, cpu, Strace.CallName(op.Kind, leader), result, strace);
        for (int h = 0; h < _held.Count;)
        {
            if (_held[h].Process != process)
            {
                h++;
                continue;
            }
            Schedule(env, env.Now, _held[h]);
            _held.RemoveAt(h);
        }
    }

    private void Apply(SimEnvironment env, AddressSpaceOp op, ulong due)
    {
        var world = _k.World;
        ref Process p = ref world.Get<Process>(op.Process);
        if (p.State is ProcessState.Exited or ProcessState.Killed or ProcessState.NotStarted or ProcessState.Paused)
        {
            Log.Add(string.Create(CultureInfo.InvariantCulture, $"pid {p.Pid} {op.Kind}: skipped (process not running)"));
            return;
        }
        _k.Smp.Enter(Math.Max(0, p.LastCpu)); // the task makes the call on the CPU it last ran on, not before it is due
        _k.Smp.CatchUp(due);
        MmState mm = _k.Tasks.MmOf(op.Process);
        _k.Dirty?.Mm(mm.Id);
        if (op.Kind == AddressSpaceOpKind.ZeroFill)
        {
            // A statement about the data the process stored, not a call: no strace line, no time.
            int pages = ZeroFill.Apply(_k, mm, op.Addr, op.Len);
            Log.Add(string.Create(CultureInfo.InvariantCulture, $"t={env.Now} pid {p.Pid} zero_fill(0x{op.Addr:x}, {op.Len}): {pages} pages hold zeros"));
            return;
        }
        _changes.Clear();
        // brk's argument: the break asked for (an sbrk-style delta moves the current one).
        ulong brkArg = op.BrkDelta ? (ulong)((long)mm.Mm.Struct.Brk + op.SignedDelta) : op.Addr;
        int pid = p.Pid;
        bool leader = p.Tgid == p.Pid;
        // The CPU the call runs on (Smp.Enter above): p.LastCpu is -1 before the task's first access.
        int cpu = _k.Tlb.CurrentCpu;
        ulong oldBrk = mm.Mm.Struct.Brk;
        ulong populateStart = 0, populateLen = 0;
        int fileId = op.FileId, openFile = 0;
        // The file behind the descriptor a call uses (before a close drops it, so the log can name it).
        bool badFd = op.Fd >= 0 && op.Kind is AddressSpaceOpKind.Mmap or AddressSpaceOpKind.Ftruncate or AddressSpaceOpKind.Close
                or AddressSpaceOpKind.Write or AddressSpaceOpKind.Read or AddressSpaceOpKind.Fallocate or AddressSpaceOpKind.Fsync
            && !_k.OpenFiles.Lookup(p.Tgid, op.Fd, out fileId, out openFile);
        // A path on tmpfs (/dev/shm) names a shmem inode: the one its dentry holds now (ENOENT once unlinked).
        if (op.Fd < 0 && op.FileId >= 0 && op.Kind is not (AddressSpaceOpKind.Open or AddressSpaceOpKind.Unlink))
            fileId = _k.OpenFiles.ResolvePath(op.FileId);
        long result = op.Kind switch
        {
            AddressSpaceOpKind.Mmap or AddressSpaceOpKind.Fadvise when fileId < -1 => fileId,
            AddressSpaceOpKind.Mmap when badFd => -Errno.EBADF,
            AddressSpaceOpKind.Mmap => mm.Mm.DoMmap(op.Addr, op.Len, op.Prot, op.Flags, fileId, op.PgOff, _changes, openFile: openFile),
            AddressSpaceOpKind.Open => OpenFile(env, op, p.Tgid, mm.Id, cpu),
            AddressSpaceOpKind.Write => _k.OpenFiles.Write(env, op.Process, mm.Id, cpu, p.Tgid, op.Fd, op.Offset, (long)op.Len, op.ZeroData, op.Piece),
            AddressSpaceOpKind.Read => _k.OpenFiles.Read(env, op.Process, mm.Id, cpu, p.Tgid, op.Fd, op.Offset, (long)op.Len),
            AddressSpaceOpKind.Fallocate => _k.OpenFiles.Fallocate(env, op.Process, mm.Id, cpu, p.Tgid, op.Fd, op.Advice, op.Offset, (long)op.Len),
            AddressSpaceOpKind.Unlink => _k.OpenFiles.Unlink(op.FileId),
            AddressSpaceOpKind.MemfdCreate => _k.OpenFiles.MemfdCreate(p.Tgid, op.Fd, op.Name ?? "", mm.Id),
            AddressSpaceOpKind.Ftruncate => _k.OpenFiles.Ftruncate(p.Tgid, op.Fd, (long)op.Len),
            AddressSpaceOpKind.Close => CloseFile(p.Tgid, op.Fd, cpu),
            AddressSpaceOpKind.Fsync => _k.OpenFiles.Fsync(env, p.Tgid, op.Fd, ref _k.World.Get<ProcessStats>(op.Process)),
            AddressSpaceOpKind.Munmap => mm.Mm.DoMunmap(op.Addr, op.Len, _changes),
            AddressSpaceOpKind.Mprotect => mm.Mm.DoMprotect(op.Addr, op.Len, op.Prot, _changes),
            AddressSpaceOpKind.Brk => (long)mm.Mm.DoBrk(brkArg, _changes),
            AddressSpaceOpKind.Fork => Fork(env, op, mm),
            AddressSpaceOpKind.Madvise => Madvise.DoMadvise(_k, mm, op.Addr, op.Len, (Scenarios.MadviseAdvice)op.Advice, _changes, env, op.Process, cpu),
            AddressSpaceOpKind.Mlock => Mlock.Apply(_k, mm, op.Addr, op.Len, VmFlags.Locked | (op.Advice != 0 ? VmFlags.LockOnFault : VmFlags.None)),
            AddressSpaceOpKind.Munlock => Mlock.Apply(_k, mm, op.Addr, op.Len, VmFlags.None),
            AddressSpaceOpKind.Mlockall => Mlock.All(_k, mm, op.Advice, unlock: false),
            AddressSpaceOpKind.Munlockall => Mlock.All(_k, mm, 0, unlock: true),
            AddressSpaceOpKind.Mremap => mm.Mm.DoMremap(op.Addr, op.Len, op.NewLen, op.MremapFlags, op.NewAddr, _changes, out populateStart, out populateLen),
            AddressSpaceOpKind.Fadvise => _k.Readahead.Fadvise(env, op.Process, mm.Id, fileId, op.Offset, (long)op.Len, (Scenarios.FadviseAdvice)op.Advice, cpu),
            AddressSpaceOpKind.DropCaches => _k.Readahead.DropCaches(op.Advice),
            AddressSpaceOpKind.Pause => _k.Tasks.Pause(op.Process),
            _ => Exit(op.Process),
        };
        if (result == Filemap.OpenFiles.InProgress)
        {
            // generic_perform_write / shmem_file_read_iter go on in the task's time, page by page; logged at the return.
            _inCall.Add((op, pid, cpu, leader, fileId >= 0 && fileId < _k.Files.Count ? _k.Files[fileId].Path : null));
            return;
        }
        // vma_adjust_trans_huge: a PMD mapping cut by a new VMA boundary or by the edge of the changed range is split
        // before the page tables change (no-op until a THP has been mapped).
        _k.Thp.SplitAtVmaEdges(mm);
        foreach (var c in _changes)
            _k.Thp.BeforeChange(mm, c);
        foreach (var c in _changes)
        {
            if (c.Kind is VmaChangeKind.Unmapped or VmaChangeKind.Zapped)
                _k.Memory.ZapRange(mm, c.Start, c.End);
            else if (c.Kind == VmaChangeKind.Moved)
                MovePageTables(mm, c.Start, c.End, c.To, op.Process);
            else if (c.Kind == VmaChangeKind.Protected)
                _k.Mprotect.ChangeProtection(mm, c);
        }
        // The VMAs and anon_vma_chains the call made or freed (vm_area_alloc/_free, SLAB_ACCOUNT) are its group's kernel memory.
        if (mm.Mm.Struct.MmUsers > 0)
            _k.Memcg?.SyncMmObjects(mm.Id, mm.Mm, cpu);
        mm.NoteHiwaterVm();
        _k.Khugepaged.AfterCall(mm, op.Kind, op.Addr, op.Len, (Scenarios.MadviseAdvice)op.Advice, result);
        // The last mapping of a memfd whose descriptors are closed may have gone (munmap, mremap, MAP_FIXED over it).
        if (op.Kind is AddressSpaceOpKind.Munmap or AddressSpaceOpKind.Mremap or AddressSpaceOpKind.Mmap)
            _k.OpenFiles.ReleaseUnused();
        PopulateAfter(op, mm, result, oldBrk, populateStart, populateLen);
        string? path = op.Kind is AddressSpaceOpKind.Open or AddressSpaceOpKind.Unlink || fileId < -1 ? _k.OpenFiles.NameOf(op.FileId)
            : fileId >= 0 && fileId < _k.Files.Count ? _k.Files[fileId].Path : null;
        string strace = Strace.Format(op, result, brkArg, path, leader);
        Log.Add(string.Create(CultureInfo.InvariantCulture, $"t={env.Now} pid {pid} {strace}"));
        _k.Events?.Syscall(pid, cpu, Strace.CallName(op.Kind, leader), result, strace);
    }

    /// <summary>
    /// The mm_populate a successful call ends with: mmap of a VM_LOCKED area (MAP_LOCKED, or mlockall's
    /// MCL_FUTURE) or with MAP_POPULATE (do_mmap's *populate); mlock without MLOCK_ONFAULT (do_mlock);
    /// mlockall(MCL_CURRENT) without MCL_ONFAULT (the whole address space); brk growing under MCL_FUTURE; and the
    /// new part of a locked area mremap grew. VM_LOCKONFAULT areas are skipped by the prefault itself.
    /// </summary>
    private void PopulateAfter(AddressSpaceOp op, MmState mm, long result, ulong oldBrk, ulong populateStart, ulong populateLen)
    {
        if (Populate is null || result < 0)
            return;
        switch (op.Kind)
        {
            case AddressSpaceOpKind.Mmap:
                {
                    int idx = mm.Mm.Vmas.FindVma((ulong)result);
                    bool locked = idx >= 0 && (mm.Mm.Vmas[idx].Flags & VmFlags.Locked) != 0;
                    if (locked || (op.Flags & MapFlags.Populate) != 0)
                        Populate(op.Process, (ulong)result, Mm.PageAlign(op.Len));
                    break;
                }
            case AddressSpaceOpKind.Mlock when op.Advice == 0:
                Populate(op.Process, op.Addr, op.Len);
                break;
            case AddressSpaceOpKind.Mlockall when (op.Advice & Mlock.MclCurrent) != 0 && (op.Advice & Mlock.MclOnFault) == 0:
                Populate(op.Process, 0, mm.Mm.Struct.TaskSize);
                break;
            case AddressSpaceOpKind.Brk when Mm.PageAlign(mm.Mm.Struct.Brk) > Mm.PageAlign(oldBrk) && (mm.Mm.DefFlags & VmFlags.Locked) != 0:
                Populate(op.Process, Mm.PageAlign(oldBrk), Mm.PageAlign(mm.Mm.Struct.Brk) - Mm.PageAlign(oldBrk));
                break;
            case AddressSpaceOpKind.Mremap when populateLen > 0:
                Populate(op.Process, populateStart, populateLen);
                break;
            case AddressSpaceOpKind.Madvise when (Scenarios.MadviseAdvice)op.Advice == Scenarios.MadviseAdvice.PopulateWrite && result == 0:
                // madvise_populate → faultin_page_range (FOLL_WRITE | FOLL_TOUCH) over the range.
                Populate(op.Process, op.Addr, op.Len);
                break;
        }
    }

    /// <summary>
    /// move_page_tables (mm/mremap.c) for [start, end) to <paramref name="to"/>: every entry (present, PROT_NONE
    /// or swap) moves with its accessed and dirty bits, the reverse map follows present pages to their new
    /// address, the old page tables left empty are freed, and the old range is flushed from the TLBs. No page
    /// is copied or faulted: a moved page is found at its new address on the next access. The calling task
    /// <paramref name="current"/> allocates the new range's tables (move_pgt_entry's alloc_new_pmd / pte_alloc) and
    /// reclaims for their charges.
    /// </summary>
    private void MovePageTables(MmState mm, ulong start, ulong end, ulong to, Entity current)
    {
        _moved.Clear();
        var collect = new CollectPteVisitor(_moved);
        mm.Tables.VisitRange(start, end, ref collect);
        int zero = _k.Zone.ZeroPfn;
        foreach (var (va, pte) in _moved)
        {
            _k.Dirty?.Pte(mm, va, pte);
            mm.Tables.Walk(va, out _) = 0;
        }

        foreach (var (va, pte) in _moved)
        {
            ulong nva = to + (va - start);
            ref ulong slot = ref _k.Memory.PteAlloc(mm, nva, current);
            _k.Dirty?.Pte(mm, nva, slot);
            slot = pte;
            var p = new Pte(pte);
            if (MemoryOps.IsMapped(pte) && !p.Special && (int)p.Pfn != zero)
            {
                _k.Rmap.Remove((int)p.Pfn, mm.Id, va);
                _k.Rmap.Add((int)p.Pfn, mm.Id, nva);
            }
        }

        var none = new NoPteVisitor();
        ulong tablesBefore = mm.Tables.PgtablesBytes;
        mm.Tables.UnmapRange(start, end, ref none);
        _k.Tlb.FlushTlbMmRange(mm.Tlb, start, end, freedTables: mm.Tables.PgtablesBytes < tablesBefore);
    }

    private readonly struct CollectPteVisitor(List<(ulong Va, ulong Pte)> into) : IPteRefVisitor
    {
        public void Visit(ulong va, ref ulong pte) => into.Add((va, pte));
    }

    private readonly struct NoPteVisitor : IPteVisitor
    {
        public void Visit(ulong va, ulong pte)
        {
        }
    }

    /// <summary>exit on a group leader is exit_group (all its threads end); on another thread only that thread ends.</summary>
    private long Exit(Entity process)
    {
        ref Process p = ref _k.World.Get<Process>(process);
        if (p.Tgid == p.Pid)
            _k.Tasks.ExitGroup(process);
        else
            _k.Tasks.ExitProcess(process);
        return 0;
    }

    /// <summary>
    /// openat(2), and under a memory cgroup the accounted objects of a seq_file it opens (a /proc or cgroup file) with
    /// those its first read(2) takes (the 4 KiB buffer): EcsMem does not read seq_files, so the open stands for both
    /// (MemcgController.SeqFileOpen).
    /// </summary>
    private long OpenFile(SimEnvironment env, AddressSpaceOp op, int tgid, int mmId, int cpu)
    {
        long fd = _k.OpenFiles.Open(tgid, op.Fd, op.FileId, op.OpenFlags, mmId);
        if (fd >= 0 && op.FileId >= 0 && op.FileId < _k.Files.Count)
            _k.Memcg?.SeqFileOpen(env, op.Process, mmId, tgid, (int)fd, _k.Files[op.FileId].Path, cpu);
        return fd;
    }

    /// <summary>close(2): a seq_file's objects are freed with the descriptor's file (MemcgController.SeqFileRelease).</summary>
    private long CloseFile(int tgid, int fd, int cpu)
    {
        long r = _k.OpenFiles.Close(tgid, fd);
        if (r == 0)
            _k.Memcg?.SeqFileRelease(tgid, fd, cpu);
        return r;
    }

    /// <summary>
    /// fork: dup_mmap for the VMAs, then copy_page_range: the child gets the parent's PTEs; private writable
    /// pages become read-only copy-on-write in both (their mapcount counts both), swap entries are
    /// duplicated (swap_duplicate), and the parent's TLB is flushed because its PTEs lost write access.
    /// </summary>
    private long Fork(SimEnvironment env, AddressSpaceOp op, MmState parent)
    {
        ref Process pp = ref _k.World.Get<Process>(op.Process);
        // alloc_pid: pids are never reused here, so pid_max bounds the tasks a run creates; fork then fails with -EAGAIN.
        if (_k.Tasks.Processes.Count >= TaskList.MaxTasks)
            return -Errno.EAGAIN;
        // The child's page tables (never more than the parent's) are allocated during the copy: without the
        // frames for them, and for the reserve pending faults hold, fork fails with -ENOMEM as in Linux.
        long needed = parent.TablePages.Count + ((long)(_k.Zone.TableReservations + 1) * _k.Zone.PageTableReserve);
        if (_k.Zone.Buddy.NrFreePages < needed)
            return -Errno.ENOMEM;
        // dup_mmap charges the child's VM_ACCOUNT copies to overcommit: refused, fork fails with -ENOMEM.
        if (_k.Tasks.ForkMm(parent) is not { } child)
            return -Errno.ENOMEM;
        _k.Dirty?.Mm(child.Id);
        // copy_process's accounted allocations (task_struct, kernel stack, cred, files, signal, pid), then dup_mm's
        // mm_struct, VMAs, anon_vmas and chains; the page tables follow with the copy below.
        _k.Memcg?.Forked(child.Id, child.Mm, _k.Tlb.CurrentCpu);
        foreach (Vma v in child.Mm.Vmas)
        {
            if ((v.Flags & VmFlags.HugeTlb) != 0)
            {
                _k.Hugetlb.CopyRange(parent, child, v, op.Process); // copy_hugetlb_page_range
                continue;
            }
            if (!VmaNeedsCopy(v))
                continue;
            // Only the populated entries are visited, in ascending order: a huge, mostly untouched VMA costs
            // what its page tables hold, not its size.
            // The parent runs the copy (current in copy_page_range): it reclaims for the child's tables' charges.
            var copy = new CopyPteVisitor(_k, child, v.Flags, op.Process);
            parent.Tables.VisitRange(v.Start, v.End, ref copy);
        }
        _k.Tlb.FlushTlbMm(parent.Tlb);
        string name = op.ChildName ?? _k.Tasks.ProcessName(pp) + "-child";
        // A start delay leaves the child not yet runnable until its start event, as a process with a later start.
        ulong start = env.Now + op.ChildStartDelay;
        Entity c = _k.Tasks.CreateProcess(name, child, pp.Pid, start, op.ChildStartDelay == 0 ? ProcessState.Runnable : ProcessState.NotStarted);
        _k.OpenFiles.DupFds(pp.Tgid, _k.World.Get<Process>(c).Tgid);
        if (op.ChildStartDelay == 0)
            _k.Events?.ProcessStart(c, start);
        if (op.ChildStartDelay != 0)
            (ScheduleChildStart ?? throw new InvalidOperationException("a delayed fork child needs ScheduleChildStart"))(c, start);
        // A generator runs over the child's heap, or, in an inferred address space (no brk area), where its parent's did.
        ulong heap = child.Mm.Struct.StartBrk == 0 && child.Inferred is not null ? InferredLayout.DefaultDataBase : child.Mm.Struct.StartBrk;
        var workload = op.ChildWorkload?.Invoke(heap) ?? throw new InvalidOperationException("a fork needs the child's workload");
        _k.World.Add(c, new ProcessWorkload { Source = workload });
        ChildCreated?.Invoke(c, name);
        int childPid = _k.World.Get<Process>(c).Pid;
        if (op.WaitChild)
            _k.Tasks.WaitForChild(op.Process, childPid);
        return childPid;
    }

    /// <summary>
    /// vma_needs_copy (mm/memory.c): copy_page_range leaves out a file mapping (shmem included: a memfd's, and a
    /// MAP_SHARED anonymous area's object) that has no anon_vma: the child's faults find its pages in the page cache.
    /// An area with an anon_vma (private pages to share copy-on-write) and a VM_PFNMAP/VM_MIXEDMAP one are copied.
    /// Simplified: a private anonymous area is always copied (Linux skips one with no anon_vma yet, whose PTEs can
    /// only map the zero page).
    /// </summary>
    internal static bool VmaNeedsCopy(in Vma v) =>
        v.AnonVma != 0 || (v.Flags & (VmFlags.PfnMap | VmFlags.MixedMap)) != 0 || !(v.Kind == VmaKind.File || v.ShmemId != 0);

    /// <summary>
    /// copy_pte_range for one VMA: what fork does with each non-empty parent entry. The child's tables are allocated
    /// by the parent (<paramref name="parent"/>, current in copy_page_range), which reclaims for their charges.
    /// </summary>
    private readonly struct CopyPteVisitor(Kernel.Kernel k, MmState child, VmFlags flags, Entity parent) : IPteRefVisitor
    {
        private readonly bool _cow = (flags & (VmFlags.Shared | VmFlags.MayWrite)) == VmFlags.MayWrite;

        public void Visit(ulong va, ref ulong src)
        {
            var pte = new Pte(src);
            if (MemoryOps.IsMapped(src))
            {
                if (_cow && pte.Writable)
                    src = pte.MkCow().Value;
                // copy_present_pte: the child's entry starts old, and clean in a shared mapping (the
                // parent's entry keeps the dirty bit, so the page is still written back).
                ulong prot = new Pte(src).Value & Pte.ProtMask & ~(Pte.SpecialBit | Pte.AccessedBit);
                if (!_cow && (flags & VmFlags.Shared) != 0)
                    prot &= ~Pte.DirtyBit;
                k.Memory.MapPage(child, va, (int)pte.Pfn, prot, parent);
            }
            else if (pte.IsSwap)
            {
                k.Dirty?.Pte(child, va);
                k.Swap.SwapDuplicate((int)pte.ToSwapEntry().Offset);
                // copy_nonpresent_pte: the entry is shared now, so neither side may take the page over on swap-in.
                src &= ~Pte.SwpExclusiveBit;
                k.Memory.PteAlloc(child, va, parent) = src;
                child.Mm.Struct.SwapEnts++;
            }
        }
    }
}
