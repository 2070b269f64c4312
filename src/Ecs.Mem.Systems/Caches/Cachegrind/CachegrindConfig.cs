using System.Globalization;
using System.Numerics;
using EcsMem.Diagnostics;

namespace EcsMem.Systems.Caches.Cachegrind;

/// <summary>The three caches Cachegrind simulates: I1, D1 and the unified last level LL.</summary>
public sealed record CachegrindConfig(CacheGeometry I1, CacheGeometry D1, CacheGeometry LL)
{
    /// <summary>Cachegrind refuses lines under 16 bytes ("Cache line size is too small"): an instruction could span three.</summary>
    public const int MinLineBytes = 16;

    /// <summary>
    /// The default when no geometry is given: the seed lecture's machine (I1 and D1 32 KiB 8-way,
    /// LL = its 3 MiB 12-way L3), all with 64-byte lines. Fixed, so output does not depend on the host.
    /// </summary>
    public static CachegrindConfig Seed { get; } = new(
        CacheGeometry.Create(32768, 8, 64, "defaults", 0, "I1"),
        CacheGeometry.Create(32768, 8, 64, "defaults", 0, "D1"),
        CacheGeometry.Create(3145728, 12, 64, "defaults", 0, "LL"));

    /// <summary>
    /// Parses one of Cachegrind's <c>--I1/--D1/--LL=SIZE,ASSOC,LINE</c> values with its checks:
    /// power-of-two line of at least 16 bytes, power-of-two set count (Cachegrind rejects
    /// user-given geometries such as 3145728,16,64 with "Cache set count is not a power of two").
    /// </summary>
    public static CacheGeometry ParseOption(string value, string option)
    {
        var g = CacheGeometry.Parse(value, "command line", 0, option);
        if (g.LineBytes < MinLineBytes)
            throw new InputException("command line", 0, value, $"{option}: line size {g.LineBytes} is too small (Cachegrind needs at least {MinLineBytes} bytes)");
        return g;
    }

    /// <summary>
    /// Cachegrind's auto-detection, fed from sysfs instead of CPUID: I1 = the level-1 instruction
    /// cache, D1 = the level-1 data cache, LL = the unified cache of the highest level. Like
    /// Cachegrind it notes on <paramref name="warnings"/> when that level is above 2 ("warning: L3
    /// cache found, using its data for the LL simulation."), and when LL's set count is not a power
    /// of two it keeps the line size, rounds the sets down to a power of two and scales the
    /// associativity up to roughly keep the size (e.g. 12 MiB 16-way becomes 8192 sets x 24 ways),
    /// printing the "specified"/"simulated" warning pair.
    /// </summary>
    public static CachegrindConfig FromHost(string root, TextWriter warnings)
    {
        var entries = HostCacheTopology.ReadEntries(root);
        var i1 = HostCacheTopology.Find(entries, 1, "Instruction", root);
        var d1 = HostCacheTopology.Find(entries, 1, "Data", root);
        SysfsCacheInfo? ll = null;
        int levels = 0;
        foreach (var e in entries)
            levels = Math.Max(levels, e.Level);
        foreach (var e in entries)
            if (e.Level == levels && e.IsUnified)
                ll = e;
        if (ll is null)
            throw new InputException(root, 0, $"L{levels}", "no unified last-level cache in sysfs; give --LL explicitly");
        if (levels > 2)
            warnings.WriteLine($"warning: L{levels} cache found, using its data for the LL simulation.");
        var (size, assoc) = TweakLastLevel(ll.SizeBytes, ll.Ways, ll.LineBytes, warnings);
        return new CachegrindConfig(
            HostCacheTopology.ToGeometry(i1, "I1"),
            HostCacheTopology.ToGeometry(d1, "D1"),
            CacheGeometry.Create(size, assoc, ll.LineBytes, ll.Directory, 0, "LL"));
    }

    /// <summary>Cachegrind's adjustment of an auto-detected LL whose set count is not a power of two.</summary>
    public static (long Size, int Ways) TweakLastLevel(long size, int ways, int line, TextWriter warnings)
    {
        long sets = size / ((long)ways * line);
        if (sets == 0)
            return (size, ways);
        long newSize;
        int newWays = ways;
        if (BitOperations.IsPow2(sets))
        {
            newSize = (long)line * ways * sets;
        }
        else
        {
            long newSets = 1L << BitOperations.Log2((ulong)sets);
            double factor = (double)sets / newSets;
            newWays = (int)(0.5 + factor * ways);
            newSize = (long)line * newWays * newSets;
        }
        if (newSize == size && newWays == ways)
            return (size, ways);
        var c = CultureInfo.InvariantCulture;
        warnings.WriteLine(string.Format(c, "warning: specified LL cache: line_size {0}  assoc {1}  total_size {2:N0}", line, ways, size));
        warnings.WriteLine(string.Format(c, "warning: simulated LL cache: line_size {0}  assoc {1}  total_size {2:N0}", line, newWays, newSize));
        return (newSize, newWays);
    }
}
