namespace EcsMem.Systems.Tlb;

public sealed partial class TlbSystem
{
    /// <summary>Linux flush_tlb_page: invalidate the page holding <paramref name="va"/> in <paramref name="mm"/>. Returns the CPUs shot down.</summary>
    public int FlushTlbPage(MmContext mm, ulong va)
    {
        ulong start = va & ~((1UL << PageShift) - 1);
        return FlushTlbMmRange(mm, start, start + (1UL << PageShift));
    }

    /// <summary>Linux flush_tlb_range: invalidate [<paramref name="start"/>, <paramref name="end"/>) of <paramref name="mm"/>. Returns the CPUs shot down.</summary>
    public int FlushTlbRange(MmContext mm, ulong start, ulong end) => FlushTlbMmRange(mm, start, end);

    /// <summary>Linux flush_tlb_mm (exit, fork's COW write-protect): invalidate all of <paramref name="mm"/>. Returns the CPUs shot down.</summary>
    public int FlushTlbMm(MmContext mm) => FlushTlbMmRange(mm, 0, TlbFlushAll);

    /// <summary>
    /// Linux flush_tlb_mm_range. Ranges of more than <see cref="TlbConfig.SinglePageFlushCeiling"/> pages
    /// become a full flush of the ASID. The mm's tlb_gen is bumped (inc_mm_tlb_gen); the current CPU flushes
    /// at once if the mm is loaded here, each other CPU that has it loaded gets a shootdown, and every CPU
    /// that only remembers the mm in an ASID slot catches up on its next switch (its slot's tlb_gen is now
    /// behind). Returns the number of remote CPUs that received a shootdown (each costs an IPI).
    /// </summary>
    public int FlushTlbMmRange(MmContext mm, ulong start, ulong end)
    {
        ArgumentNullException.ThrowIfNull(mm);
        if (end != TlbFlushAll)
        {
            if (end < start)
                throw new ArgumentOutOfRangeException(nameof(end), end, $"range end is below its start {start:x}");
            if ((end - start) >> PageShift > (ulong)Config.SinglePageFlushCeiling)
            {
                start = 0;
                end = TlbFlushAll;
            }
        }
        ulong newGen = ++mm.TlbGen;

        CpuTlbState self = _cpus[_currentCpu];
        if (ReferenceEquals(self.LoadedMm, mm))
            FlushTlbFunc(self, mm, start, end, newGen, local: true);

        ulong others = mm.CpuMask & ~(1UL << self.Cpu);
        if (others == 0)
            return 0;
        _counters.Increment(_ids.RemoteFlush);
        int sent = 0;
        for (int c = 0; c < _cpus.Length; c++)
        {
            if ((others & (1UL << c)) == 0) continue;
            FlushTlbFunc(_cpus[c], mm, start, end, newGen, local: false);
            sent++;
        }
        return sent;
    }

    /// <summary>
    /// Linux flush_tlb_all: every CPU drops every entry, global ones included (kernel mapping changes).
    /// Counted as Linux does: one nr_tlb_remote_flush, and one nr_tlb_remote_flush_received per CPU
    /// (the initiator included). Returns the number of CPUs other than the current one.
    /// </summary>
    public int FlushAll()
    {
        _counters.Increment(_ids.RemoteFlush);
        foreach (CpuTlbState cpu in _cpus)
        {
            _counters.Increment(_ids.RemoteFlushReceived);
            cpu.Tlb.FlushAll();
        }
        return _cpus.Length - 1;
    }

    /// <summary>
    /// Linux flush_tlb_func, run by <paramref name="cpu"/> for its loaded <paramref name="mm"/>: nothing if
    /// the CPU is already at the mm's tlb_gen; page-by-page INVLPG if this request is exactly the one
    /// generation the CPU is missing; otherwise a full flush of the ASID. Then the CPU is current again.
    /// </summary>
    private void FlushTlbFunc(CpuTlbState cpu, MmContext mm, ulong start, ulong end, ulong newGen, bool local)
    {
        if (!local)
            _counters.Increment(_ids.RemoteFlushReceived);
        ref TlbContextSlot slot = ref cpu.Contexts[cpu.LoadedAsid];
        ulong mmGen = mm.TlbGen;
        ulong localGen = slot.TlbGen;
        if (localGen >= mmGen)
            return;
        ushort pcid = cpu.Tlb.CurrentPcid;
        if (end != TlbFlushAll && newGen == localGen + 1 && newGen == mmGen)
        {
            long pages = 0;
            for (ulong addr = start; addr < end; addr += 1UL << PageShift)
            {
                cpu.Tlb.InvalidatePage(addr, pcid);
                pages++;
            }
            if (local)
                _counters.Add(_ids.LocalFlushOne, pages);
        }
        else
        {
            // flush_tlb_local: a CR3 reload of the current ASID (non-global entries only).
            if (Config.UsePcid) cpu.Tlb.FlushPcid(pcid);
            else cpu.Tlb.FlushNonGlobal();
            if (local)
                _counters.Increment(_ids.LocalFlushAll);
        }
        slot.TlbGen = mmGen;
    }
}
