using System.Numerics;
using EcsMem.Diagnostics;

namespace EcsMem.Systems.Caches;

/// <summary>
/// Shape of one set-associative cache: total size, ways per set and line size, all in bytes.
/// Valid geometries have a power-of-two line size, at least one way, and a size that is exactly
/// sets * ways * line with a power-of-two number of sets (the set index is a bit field of the
/// line number, as in hardware and in Cachegrind).
/// </summary>
public readonly record struct CacheGeometry
{
    private CacheGeometry(long sizeBytes, int ways, int lineBytes)
    {
        SizeBytes = sizeBytes;
        Ways = ways;
        LineBytes = lineBytes;
    }

    public long SizeBytes { get; }
    public int Ways { get; }
    public int LineBytes { get; }

    /// <summary>Number of sets: size / (ways * line).</summary>
    public int Sets => (int)(SizeBytes / ((long)Ways * LineBytes));

    /// <summary>log2 of the line size: the number of offset bits of an address.</summary>
    public int LineBits => BitOperations.Log2((uint)LineBytes);

    /// <summary>
    /// Validates and builds a geometry. <paramref name="source"/>/<paramref name="line"/> locate the
    /// value for the error message; <paramref name="what"/> names the cache (e.g. "--D1").
    /// </summary>
    public static CacheGeometry Create(long sizeBytes, long ways, long lineBytes, string source, long line, string what)
    {
        string shown = $"{sizeBytes},{ways},{lineBytes}";
        if (lineBytes < 1 || lineBytes > (1 << 20) || !BitOperations.IsPow2(lineBytes))
            throw new InputException(source, line, shown, $"{what}: line size {lineBytes} is not a power of two between 1 and 1048576 bytes");
        if (ways < 1 || ways > 1 << 16)
            throw new InputException(source, line, shown, $"{what}: associativity {ways} must be from 1 to 65536 ways");
        if (sizeBytes < 1)
            throw new InputException(source, line, shown, $"{what}: size {sizeBytes} must be positive");
        long setBytes = ways * lineBytes;
        if (sizeBytes % setBytes != 0)
            throw new InputException(source, line, shown, $"{what}: size {sizeBytes} is not a multiple of ways*line = {setBytes}");
        long sets = sizeBytes / setBytes;
        if (!BitOperations.IsPow2(sets))
            throw new InputException(source, line, shown, $"{what}: set count {sets} (size/(ways*line)) is not a power of two");
        if (sets * ways > 1 << 26)
            throw new InputException(source, line, shown, $"{what}: {sets * ways} lines is more than this simulator holds (67108864)");
        return new CacheGeometry(sizeBytes, (int)ways, (int)lineBytes);
    }

    /// <summary>Parses Cachegrind's option syntax <c>SIZE,ASSOC,LINE</c> (sizes in bytes; K/M suffixes also accepted).</summary>
    public static CacheGeometry Parse(string text, string source, long line, string what)
    {
        string[] parts = text.Split(',');
        if (parts.Length != 3)
            throw new InputException(source, line, text, $"{what} needs SIZE,ASSOC,LINE_SIZE (e.g. 32768,8,64)");
        long size = SizeParser.Parse(parts[0], source, line, what + " size");
        if (!long.TryParse(parts[1].Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long ways))
            throw new InputException(source, line, text, $"{what}: associativity '{parts[1]}' is not a whole number");
        long lineSize = SizeParser.Parse(parts[2], source, line, what + " line size");
        return Create(size, ways, lineSize, source, line, what);
    }

    /// <summary>Cachegrind's spelling: <c>SIZE,ASSOC,LINE</c> in bytes.</summary>
    public override string ToString() => $"{SizeBytes},{Ways},{LineBytes}";
}
