using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Systems.Kernel;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// Keeps each process's memory figures as they were just before it exited. Exit tears the address space
/// down (exit_mmap frees every page), so at the end of a run an exited process has no resident set left;
/// the report shows what <c>/proc/&lt;pid&gt;/status</c> said at the last tick boundary before the exit instead.
/// Call <see cref="Observe"/> after every tick. Resident pages change only in the slow-path systems, never
/// among the accesses of the tick in which a process runs out of work, so the sample is the value at exit
/// (except when an address-space operation in the exit's own tick changed the mapping first).
/// </summary>
public sealed class ProcessStatusTracker
{
    private Sample[] _samples = new Sample[16];
    private bool[] _sampled = new bool[16];

    private struct Sample
    {
        public MmStruct Mm;
        public ulong HiwaterVm;
        public ulong HiwaterRss;
    }

    /// <summary>Copies the mm counters of every process that has not exited. Allocates only when processes were added.</summary>
    public void Observe(Kernel.Kernel kernel)
    {
        var procs = kernel.Processes;
        if (procs.Count > _samples.Length)
        {
            int n = Math.Max(procs.Count, _samples.Length * 2);
            Array.Resize(ref _samples, n);
            Array.Resize(ref _sampled, n);
        }
        var world = kernel.World;
        for (int i = 0; i < procs.Count; i++)
        {
            ref Process p = ref world.Get<Process>(procs[i]);
            if (p.State is ProcessState.Exited or ProcessState.Killed)
                continue;
            MmState mm = world.Get<MmRef>(p.Mm).State;
            ref Sample s = ref _samples[i];
            s.Mm = mm.Mm.Struct;
            s.HiwaterVm = mm.HiwaterVm;
            s.HiwaterRss = mm.HiwaterRss;
            _sampled[i] = true;
        }
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
        if (gone && index < _sampled.Length && _sampled[index])
        {
            ref Sample s = ref _samples[index];
            return ProcStatus.TaskMem(s.Mm, s.HiwaterVm, s.HiwaterRss);
        }
        MmState mm = kernel.MmOf(process);
        return ProcStatus.TaskMem(mm.Mm.Struct, mm.HiwaterVm, mm.HiwaterRss);
    }
}
