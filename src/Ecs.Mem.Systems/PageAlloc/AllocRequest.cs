
namespace EcsMem.Systems.PageAlloc;

/// <summary>② A fault that needs a frame (or page-table pages) from the allocator.</summary>
public readonly record struct AllocRequest(FaultRecord Fault, bool NeedsFrame);
