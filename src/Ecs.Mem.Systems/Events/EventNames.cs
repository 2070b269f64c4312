using EcsMem.Traces;

namespace EcsMem.Systems.Events;

/// <summary>The names the event stream uses: each kind's JSON name and the seed's mechanism it belongs to.</summary>
public static class EventNames
{
    /// <summary>Every kind's JSON name, indexed by <see cref="MemEventKind"/>.</summary>
    public static readonly string[] Kinds =
    [
        "fault", "syscall", "reclaim", "kswapd_wake", "kswapd_sleep", "alloc", "alloc_stall", "swap_out", "unmap",
        "swap_in", "file_read", "tlb_flush", "oom_kill", "process_start", "process_exit", "lru_shrink_inactive",
        "lru_shrink_active",
    ];

    /// <summary>The kind called <paramref name="name"/>, or null.</summary>
    public static MemEventKind? Parse(string name)
    {
        int i = Array.IndexOf(Kinds, name);
        return i < 0 ? null : (MemEventKind)i;
    }

    public static string Kind(MemEventKind k) => Kinds[(int)k];

    /// <summary>
    /// The mechanism (the key Reporting/Mechanisms.cs uses) and the seed's arrow of a kind: a fault is ① demand
    /// paging; a frame for it, a stall and kswapd's wake-up are ② allocation (the allocator's slow path wakes
    /// kswapd); reclaim passes, kswapd's sleep and OOM kills are ④⑤ reclaim; file reads ③ page cache; swap-ins
    /// ⑥ swap cache (the page is read into the swap cache); swap-outs and the PTE rewrites ⑦ swapping; TLB flushes
    /// ⑧; system calls and task start/exit are mapping (no arrow).
    /// </summary>
    public static (string Key, string Arrow) Mechanism(MemEventKind k) => k switch
    {
        MemEventKind.Fault => ("demand_paging", "①"),
        MemEventKind.Alloc or MemEventKind.AllocStall or MemEventKind.KswapdWake => ("allocation", "②"),
        MemEventKind.FileRead => ("page_cache", "③"),
        MemEventKind.Reclaim or MemEventKind.KswapdSleep or MemEventKind.OomKill or MemEventKind.LruShrinkInactive
            or MemEventKind.LruShrinkActive => ("reclaim", "④⑤"),
        MemEventKind.SwapIn => ("swap_cache", "⑥"),
        MemEventKind.SwapOut or MemEventKind.Unmap => ("swapping", "⑦"),
        MemEventKind.TlbFlush => ("tlb", "⑧"),
        _ => ("mapping", ""),
    };

    /// <summary>A fault class's JSON name (snake_case of <see cref="FaultClass"/>).</summary>
    public static string Class(FaultClass c) => c switch
    {
        FaultClass.Spurious => "spurious",
        FaultClass.ZeroPage => "zero_page",
        FaultClass.AnonNew => "anon_new",
        FaultClass.CowCopy => "cow_copy",
        FaultClass.CowReuse => "cow_reuse",
        FaultClass.SharedWrite => "shared_write",
        FaultClass.FileCached => "file_cached",
        FaultClass.FileRead => "file_read",
        FaultClass.SwapCached => "swap_cached",
        FaultClass.HugeAnon => "huge_anon",
        FaultClass.HugeZeroPage => "huge_zero_page",
        FaultClass.HugeReuse => "huge_reuse",
        FaultClass.AnonLarge => "anon_large",
        _ => "swap_read",
    };

    public static string Outcome(FaultOutcome o) => o switch
    {
        FaultOutcome.Installed => "installed",
        FaultOutcome.Retried => "retried",
        FaultOutcome.Dropped => "dropped",
        _ => "sigsegv",
    };

    public static string Access(AccessKind a) => a switch
    {
        AccessKind.Instr => "instr",
        AccessKind.Load => "load",
        AccessKind.Store => "store",
        _ => "modify",
    };
}
