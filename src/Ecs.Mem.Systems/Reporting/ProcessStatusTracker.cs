using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// Keeps each process's memory figures as they were just before it exited. Exit tears the address space
/// down (exit_mmap frees every page), so at the end of a run an exited process has no resident set left;
/// the report shows what <c>/proc/&lt;pid&gt;/status</c> said at the last tick boundary before the exit instead.
/// A process that runs out of accesses is sampled exactly when its workload reports the end
/// (<see cref="WorkloadEndTap"/>), before the access stage tears it down, and every exit (a signal, the OOM
/// killer, a scripted exit) at the start of do_exit (<see cref="Task.TaskList.ExitStarting"/>, attached by
/// <see cref="WorkloadEndTap.Attach"/>), so the figures do not depend on the tick's batch size. <see cref="Observe"/>,
/// called after every tick, keeps the figures of the last tick boundary for a tracker not attached to a kernel.
/// </summary>
/// <remarks>
/// Per-tick cost: one copy of 15 counters per live process, with no ECS lookup (each process's mm is resolved
/// once; an mm with no users left has exited), and none above <see cref="MaxPerTickProcesses"/> processes.
/// </remarks>
public sealed class ProcessStatusTracker
{
    private Sample[] _samples = new Sample[16];
    private MmState?[] _mms = new MmState?[16];
    private int _known;

    private struct Sample
    {
        public bool Taken;
        /// <summary>Taken at do_exit's start: later ticks (another user of a shared mm) leave it alone.</summary>
        public bool Final;
        public ulong TotalVm, LockedVm, PinnedVm, RssAnon, RssFile, RssShmem, DataVm, StackVm, ExecVm;
        public ulong StartCode, EndCode, PgtablesBytes, SwapEnts, HiwaterVm, HiwaterRss;
    }

    /// <summary>Most processes sampled after every tick; above it only the exact end-of-workload samples are taken.</summary>
    public const int MaxPerTickProcesses = 64;

    /// <summary>
    /// Copies the mm counters of every process that has not exited, while there are at most
    /// <see cref="MaxPerTickProcesses"/> (the copies touch every mm, which costs more than the tick itself
    /// with hundreds of processes). Allocates only when processes were added.
    /// </summary>
    public void Observe(Kernel.Kernel kernel)
    {
        var procs = kernel.Tasks.Processes;
        if (procs.Count > _known)
            Resolve(kernel);
        if (_known > MaxPerTickProcesses)
            return;
        for (int i = 0; i < _known; i++)
            Take(i);
    }

    /// <summary>Samples the process at <paramref name="index"/> now (the workload tap calls it at the end of its accesses).</summary>
    public void Record(Kernel.Kernel kernel, int index)
    {
        if (index >= _known)
            Resolve(kernel);
        Take(index);
    }

    /// <summary>Samples the process at <paramref name="index"/> at the start of its do_exit, for good.</summary>
    internal void RecordExit(Kernel.Kernel kernel, int index)
    {
        if (index >= _known)
            Resolve(kernel);
        Take(index);
        _samples[index].Final = _samples[index].Taken;
    }

    private void Take(int i)
    {
        {
            MmState? mm = _mms[i];
            // mm_users drops to 0 in exit_mm: from then on the mm is being (or has been) torn down.
            if (mm is null || mm.Mm.Struct.MmUsers <= 0 || _samples[i].Final)
                return;
            ref readonly MmStruct s = ref mm.Mm.Struct;
            ref Sample d = ref _samples[i];
            d.Taken = true;
            d.TotalVm = s.TotalVm;
            d.LockedVm = s.LockedVm;
            d.PinnedVm = s.PinnedVm;
            d.RssAnon = s.RssAnon;
            d.RssFile = s.RssFile;
            d.RssShmem = s.RssShmem;
            d.DataVm = s.DataVm;
            d.StackVm = s.StackVm;
            d.ExecVm = s.ExecVm;
            d.StartCode = s.StartCode;
            d.EndCode = s.EndCode;
            d.PgtablesBytes = s.PgtablesBytes;
            d.SwapEnts = s.SwapEnts;
            d.HiwaterVm = mm.HiwaterVm;
            d.HiwaterRss = mm.HiwaterRss;
        }
    }

    private void Resolve(Kernel.Kernel kernel)
    {
        var procs = kernel.Tasks.Processes;
        if (procs.Count > _samples.Length)
        {
            int n = Math.Max(procs.Count, _samples.Length * 2);
            Array.Resize(ref _samples, n);
            Array.Resize(ref _mms, n);
        }
        for (int i = _known; i < procs.Count; i++)
            _mms[i] = kernel.Tasks.MmOf(procs[i]);
        _known = procs.Count;
    }

    /// <summary>
    /// The status of <paramref name="process"/> (index <paramref name="index"/> in pid order): the live
    /// figures while it runs, the last sample once it has exited (the live, torn-down figures if it exited
    /// before any sample was taken).
    /// </summary>
    public ProcStatus StatusOf(Kernel.Kernel kernel, Entity process, int index)
    {
        ref Process p = ref kernel.World.Get<Process>(process);
        bool gone = p.State is ProcessState.Exited or ProcessState.Killed;
        if (gone && index < _known && _samples[index].Taken)
        {
            ref Sample s = ref _samples[index];
            var mm = new MmStruct
            {
                TotalVm = s.TotalVm,
                LockedVm = s.LockedVm,
                PinnedVm = s.PinnedVm,
                RssAnon = s.RssAnon,
                RssFile = s.RssFile,
                RssShmem = s.RssShmem,
                DataVm = s.DataVm,
                StackVm = s.StackVm,
                ExecVm = s.ExecVm,
                StartCode = s.StartCode,
                EndCode = s.EndCode,
                PgtablesBytes = s.PgtablesBytes,
                SwapEnts = s.SwapEnts,
            };
            return ProcStatus.TaskMem(mm, s.HiwaterVm, s.HiwaterRss);
        }
        MmState live = kernel.Tasks.MmOf(process);
        return ProcStatus.TaskMem(live.Mm.Struct, live.HiwaterVm, live.HiwaterRss);
    }
}
