
namespace EcsMem.Systems.Filemap;

/// <summary>③/⑥ A freshly allocated frame to enter the page cache or swap cache and be read from disk.</summary>
public readonly record struct PageCacheInsertRequest(FaultRecord Fault);
