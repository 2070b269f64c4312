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
    public int FlushTlbMmRange(MmContext mm, ulong start, ulong end) => FlushTlbMmRange(mm, start, end, freedTables: false);

    /// <summary>
    /// flush_tlb_mm_range with flush_tlb_info.freed_tables: when page-table pages were freed, lazy CPUs get the
    /// IPI too (they must not walk freed tables speculatively) and leave the mm for init_mm.
    /// </summary>
    public int FlushTlbMmRange(MmContext mm, ulong start, ulong end, bool freedTables)
    {
        if (Flushed is null)
            return FlushTlbMmRangeCore(mm, ref start, ref end, freedTables);
        int sent = FlushTlbMmRangeCore(mm, ref start, ref end, freedTables);
        Flushed(mm, start, end, sent);
        return sent;
    }

    /// <summary>
    /// Told of every flush_tlb_mm_range after it is done: the mm, the range flushed ([0, <see cref="TlbFlushAll"/>)
    /// when it became a full flush) and the remote CPUs shot down. Null (the default): nothing is told.
    /// </summary>
    public Action<MmContext, ulong, ulong, int>? Flushed { get; set; }

    private int FlushTlbMmRangeCore(MmContext mm, ref ulong start, ref ulong end, bool freedTables)
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
        // native_flush_tlb_multi: counted once per call, whichever CPUs the IPIs then reach.
        _counters.Increment(_ids.RemoteFlush);
        bool trim = ShouldTrimCpumask(mm);
        int sent = 0;
        for (int c = 0; c < _cpus.Length; c++)
        {
            if ((others & (1UL << c)) == 0) continue;
            CpuTlbState cpu = _cpus[c];
            if (!freedTables && !ShouldFlushTlb(cpu, mm, trim))
                continue;
            sent++;
            _counters.Increment(_ids.RemoteFlushReceived);
            ulong cost = FlushOneCycles;
            if (!ReferenceEquals(cpu.LoadedMm, mm))
            {
                // The CPU was left in the mask when it switched away: clear it, nothing to flush.
                mm.CpuMask &= ~(1UL << c);
            }
            else if (cpu.IsLazy)
            {
                // Freed page tables reached a lazy CPU: it switches to init_mm (keeps no user mm loaded).
                cpu.LoadedMm = null;
                cpu.IsLazy = false;
                mm.CpuMask &= ~(1UL << c);
            }
            else
            {
                cost = FlushTlbFunc(cpu, mm, start, end, newGen, local: false) * FlushOneCycles;
            }
            ChargeRemote?.Invoke(c, cost);
        }
        if (sent > 0)
            InitiatorWait?.Invoke(ShootdownCycles);
        return sent;
    }

    /// <summary>should_trim_cpumask: at most once a second per mm, a shootdown also visits CPUs that left it.</summary>
    private bool ShouldTrimCpumask(MmContext mm)
    {
        ulong now = Now;
        if (now <= mm.NextTrimCpumask)
            return false;
        mm.NextTrimCpumask = now + _second;
        return true;
    }

    /// <summary>should_flush_tlb (Linux 6.18): lazy CPUs catch up at their next switch; a CPU running the mm is flushed; one that left it only when trimming.</summary>
    private static bool ShouldFlushTlb(CpuTlbState cpu, MmContext mm, bool trim)
    {
        if (cpu.IsLazy)
            return false;
        if (ReferenceEquals(cpu.LoadedMm, mm))
            return true;
        return trim;
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
    private ulong FlushTlbFunc(CpuTlbState cpu, MmContext mm, ulong start, ulong end, ulong newGen, bool local)
    {
        ref TlbContextSlot slot = ref cpu.Contexts[cpu.LoadedAsid];
        ulong mmGen = mm.TlbGen;
        ulong localGen = slot.TlbGen;
        if (localGen >= mmGen)
            return 0;
        ulong work;
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
            work = (ulong)pages;
        }
        else
        {
            // flush_tlb_local: a CR3 reload of the current ASID (non-global entries only).
            if (Config.UsePcid) cpu.Tlb.FlushPcid(pcid);
            else cpu.Tlb.FlushNonGlobal();
            if (local)
                _counters.Increment(_ids.LocalFlushAll);
            work = 1;
        }
        slot.TlbGen = mmGen;
        return work;
    }
}
