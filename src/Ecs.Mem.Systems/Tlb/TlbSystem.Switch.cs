namespace EcsMem.Systems.Tlb;

public sealed partial class TlbSystem
{
    /// <summary>
    /// Context switch of the current CPU to <paramref name="next"/> (Linux switch_mm_irqs_off). Returns true
    /// when the switch flushed. Switching to the mm already loaded only flushes if its tlb_gen moved on
    /// since this CPU last caught up; switching to another mm takes an ASID from
    /// <see cref="ChooseNewAsid"/> and flushes it when told to (always, without PCID).
    /// </summary>
    public bool SwitchMm(MmContext next)
    {
        ArgumentNullException.ThrowIfNull(next);
        CpuTlbState cpu = _cpus[_currentCpu];
        MmContext? prev = cpu.LoadedMm;
        ulong nextGen = next.TlbGen;
        cpu.IsLazy = false;
        if (ReferenceEquals(prev, next))
        {
            // Same mm: a flush may have been deferred to us (we missed a shootdown while not current).
            ref TlbContextSlot slot = ref cpu.Contexts[cpu.LoadedAsid];
            if (slot.TlbGen >= nextGen)
                return false;
            FlushAsidForSwitch(cpu);
            slot.TlbGen = nextGen;
            return true;
        }

        // Linux 6.14+: the CPU stays in prev's mm_cpumask (a later shootdown trims it); it joins next's.
        ulong bit = 1UL << cpu.Cpu;
        ChooseNewAsid(cpu, next, nextGen, out int asid, out bool needFlush);
        next.CpuMask |= bit;
        cpu.LoadedMm = next;
        cpu.LoadedAsid = asid;
        cpu.Tlb.CurrentPcid = PcidOf(asid);
        if (needFlush)
        {
            ref TlbContextSlot slot = ref cpu.Contexts[asid];
            slot.CtxId = next.CtxId;
            slot.TlbGen = nextGen;
            FlushAsidForSwitch(cpu);
            _counters.Increment(_ids.SwitchFlush);
        }
        else
        {
            _counters.Increment(_ids.SwitchNoFlush);
        }
        return needFlush;
    }

    /// <summary>
    /// Linux choose_new_asid: without PCID always ASID 0 with a flush. With PCID, if a slot remembers
    /// <paramref name="next"/>'s ctx_id, reuse it and flush only if the slot's tlb_gen is behind
    /// <paramref name="nextGen"/>; otherwise take slot next_asid (round-robin, wrapping to 0) and flush it.
    /// </summary>
    internal void ChooseNewAsid(CpuTlbState cpu, MmContext next, ulong nextGen, out int asid, out bool needFlush)
    {
        if (!Config.UsePcid)
        {
            asid = 0;
            needFlush = true;
            return;
        }
        TlbContextSlot[] ctxs = cpu.Contexts;
        for (int i = 0; i < ctxs.Length; i++)
        {
            if (ctxs[i].CtxId != next.CtxId)
                continue;
            asid = i;
            needFlush = ctxs[i].TlbGen < nextGen;
            return;
        }
        asid = cpu.NextAsid;
        cpu.NextAsid = asid + 1;
        if (asid >= ctxs.Length)
        {
            asid = 0;
            cpu.NextAsid = 1;
        }
        needFlush = true;
    }

    // Loading CR3 without the NOFLUSH bit: with PCID it drops the new PCID's non-global entries; without
    // PCID (CR4.PCIDE = 0) every non-global entry goes.
    private void FlushAsidForSwitch(CpuTlbState cpu)
    {
        if (Config.UsePcid)
            cpu.Tlb.FlushPcid(cpu.Tlb.CurrentPcid);
        else
            cpu.Tlb.FlushNonGlobal();
    }
}
