namespace EcsMem.Systems.Rmap;

/// <summary>⑦ Rewrite one PTE that maps an evicted frame: to a swap entry (anonymous) or to none (file).</summary>
public readonly record struct PteRewrite(int MmId, ulong Va, int Pfn, ulong NewPte);

/// <summary>⑦ After its PTEs are rewritten, an evicted frame leaves its cache and returns to the buddy allocator.</summary>
public readonly record struct FrameRelease(int Pfn);
