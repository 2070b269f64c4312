using System.Globalization;
using EcsMem.Diagnostics;

namespace EcsMem.Systems.Caches;

/// <summary>
/// Reads this machine's cache geometry from sysfs (<c>--cpu host</c>): every
/// <c>index*</c> directory under <c>/sys/devices/system/cpu/cpu0/cache</c> with its
/// <c>level</c>, <c>type</c>, <c>size</c>, <c>ways_of_associativity</c>,
/// <c>coherency_line_size</c> and <c>number_of_sets</c> files.
/// </summary>
public static class HostCacheTopology
{
    public const string DefaultRoot = "/sys/devices/system/cpu/cpu0/cache";

    /// <summary>All cache entries under <paramref name="root"/>, sorted by level then type.</summary>
    public static IReadOnlyList<SysfsCacheInfo> ReadEntries(string root = DefaultRoot)
    {
        if (!Directory.Exists(root))
            throw new InputException(root, 0, root, "cannot read the host cache geometry: directory missing (not Linux, or sysfs not mounted); give the geometry explicitly");
        var dirs = Directory.GetDirectories(root, "index*");
        Array.Sort(dirs, StringComparer.Ordinal);
        if (dirs.Length == 0)
            throw new InputException(root, 0, root, "cannot read the host cache geometry: no index* directories (the kernel exports no cache information here)");
        var list = new List<SysfsCacheInfo>(dirs.Length);
        foreach (string d in dirs)
        {
            int level = ReadInt(d, "level");
            string type = ReadText(d, "type");
            long size = SizeParser.Parse(ReadText(d, "size"), Path.Combine(d, "size"), 1, "cache size");
            int ways = ReadInt(d, "ways_of_associativity");
            int line = ReadInt(d, "coherency_line_size");
            int sets = ReadInt(d, "number_of_sets");
            if (type is not ("Data" or "Instruction" or "Unified"))
                throw new InputException(Path.Combine(d, "type"), 1, type, "unknown cache type (expected Data, Instruction or Unified)");
            if ((long)ways * line * sets != size)
                throw new InputException(d, 0, $"size={size} ways={ways} line={line} sets={sets}",
                    "inconsistent cache geometry: size is not ways * line * sets");
            list.Add(new SysfsCacheInfo(level, type, size, ways, line, sets, d));
        }
        list.Sort((a, b) => a.Level != b.Level ? a.Level.CompareTo(b.Level) : string.CompareOrdinal(a.Type, b.Type));
        return list;
    }

    /// <summary>
    /// The four-level hierarchy config of this machine (L1i, L1d, L2, L3 must all exist).
    /// </summary>
    public static CacheHierarchyConfig ReadHierarchy(string root = DefaultRoot, InclusionPolicy inclusion = InclusionPolicy.Inclusive)
    {
        var e = ReadEntries(root);
        return new CacheHierarchyConfig(
            ToGeometry(Find(e, 1, "Instruction", root), "L1i"),
            ToGeometry(Find(e, 1, "Data", root), "L1d"),
            ToGeometry(Find(e, 2, "Unified", root), "L2"),
            ToGeometry(Find(e, 3, "Unified", root), "L3"),
            inclusion);
    }

    public static SysfsCacheInfo Find(IReadOnlyList<SysfsCacheInfo> entries, int level, string type, string root)
    {
        foreach (var c in entries)
            if (c.Level == level && c.Type == type)
                return c;
        throw new InputException(root, 0, $"L{level} {type}", "this machine's sysfs reports no such cache; give the geometry explicitly");
    }

    public static CacheGeometry ToGeometry(SysfsCacheInfo c, string what) =>
        CacheGeometry.Create(c.SizeBytes, c.Ways, c.LineBytes, c.Directory, 0, what);

    private static string ReadText(string dir, string file)
    {
        string path = Path.Combine(dir, file);
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(path, 0, file, $"cannot read the host cache geometry: {e.Message}");
        }
    }

    private static int ReadInt(string dir, string file)
    {
        string text = ReadText(dir, file);
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v))
            throw new InputException(Path.Combine(dir, file), 1, text, "not a whole number");
        return v;
    }
}
