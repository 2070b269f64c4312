using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;

namespace EcsMem.Systems.Caches.Cachegrind;

/// <summary>
/// Cachegrind's cache model (valgrind --tool=cachegrind --cache-sim=yes) driven by a Lackey trace:
/// I1 and D1 first-level caches and one unified LL.
/// <list type="bullet">
/// <item>Every instruction is one I reference of its length; every load one Dr; every store one
/// Dw; a modify (load+store of one location in one instruction) is one Dr, nothing else.</item>
/// <item>A reference straddling two lines counts once and misses if either line misses.</item>
/// <item>LL is consulted only on a first-level miss, with the same address and size (so for a
/// straddling reference LL looks up both lines, even the one that hit in L1).</item>
/// <item>Data references are clamped to the smallest line size of the three caches, as Cachegrind
/// does for very large accesses (e.g. FXSAVE), so a reference never spans more than two lines.</item>
/// </list>
/// </summary>
public sealed class CachegrindSimulator
{
    private readonly CachegrindCache _i1;
    private readonly CachegrindCache _d1;
    private readonly CachegrindCache _ll;
    private readonly int _maxDataSize;
    private CachegrindCounts _counts;

    /// <summary>
    /// Builds I1, D1 and LL with their lines as entities of <paramref name="world"/>, marked
    /// <see cref="L1iLine"/>, <see cref="L1dLine"/> and <see cref="L3Line"/> (LL plays the last level).
    /// </summary>
    public CachegrindSimulator(World world, CachegrindConfig config)
    {
        Config = config;
        _i1 = new CachegrindCache(world, config.I1, ComponentType.Of<L1iLine>());
        _d1 = new CachegrindCache(world, config.D1, ComponentType.Of<L1dLine>());
        _ll = new CachegrindCache(world, config.LL, ComponentType.Of<L3Line>());
        _maxDataSize = Math.Min(config.I1.LineBytes, Math.Min(config.D1.LineBytes, config.LL.LineBytes));
    }

    public CachegrindConfig Config { get; }

    public CachegrindCache I1 => _i1;
    public CachegrindCache D1 => _d1;
    public CachegrindCache LL => _ll;

    public CachegrindCounts Counts => _counts;

    public void Run(ReadOnlySpan<MemoryAccess> accesses)
    {
        foreach (ref readonly MemoryAccess a in accesses)
            Access(a);
    }

    public void Access(in MemoryAccess a)
    {
        int size = a.Size == 0 ? 1 : a.Size;
        switch (a.Kind)
        {
            case AccessKind.Instr:
                _counts.Ir++;
                if (_i1.IsMiss(a.Address, size))
                {
                    _counts.I1mr++;
                    if (_ll.IsMiss(a.Address, size))
                        _counts.ILmr++;
                }
                break;
            case AccessKind.Store:
                if (size > _maxDataSize) size = _maxDataSize;
                _counts.Dw++;
                if (_d1.IsMiss(a.Address, size))
                {
                    _counts.D1mw++;
                    if (_ll.IsMiss(a.Address, size))
                        _counts.DLmw++;
                }
                break;
            default: // Load and Modify are both one data read
                if (size > _maxDataSize) size = _maxDataSize;
                _counts.Dr++;
                if (_d1.IsMiss(a.Address, size))
                {
                    _counts.D1mr++;
                    if (_ll.IsMiss(a.Address, size))
                        _counts.DLmr++;
                }
                break;
        }
    }
}
