namespace EcsMem.Oracle;

/// <summary>
/// The kit's what-if and dump switches in the environment (oracle/README.md): each one is unset, <c>0</c> or <c>1</c>.
/// Anything else is refused in one line naming the variable and its value, so a typo (<c>yes</c>, <c>true</c>) cannot
/// silently run the default model and be read as a what-if.
/// </summary>
public static class OracleEnv
{
    /// <summary>The switch <paramref name="name"/>: <paramref name="unset"/> when unset or empty, else 0 or 1.</summary>
    public static bool Flag(string name, bool unset) => Environment.GetEnvironmentVariable(name) switch
    {
        null or "" => unset,
        "0" => false,
        "1" => true,
        string v => throw new EcsMem.Diagnostics.InputException(name, 0, v, "not 0 or 1"),
    };

    /// <summary>
    /// Managed pages of the recording machine's Normal zone (/proc/zoneinfo, 2026-12-07): the zone a recorded
    /// /proc/buddyinfo line describes, which <see cref="ScaledFreeArea"/> scales to the kit's RAM.
    /// </summary>
    public const long RecordingNormalManaged = 2_129_920;

    /// <summary>
    /// The what-if <c>ECSMEM_ORACLE_BUDDYINFO</c> (session 25, pcphigh): a recorded /proc/buddyinfo Normal line (its
    /// eleven counts, or the whole line) as the kit machine's <c>machine.free_area</c>, each order's count scaled by
    /// the kit's pages over <see cref="RecordingNormalManaged"/> and rounded to the nearest, so the kit's zone starts
    /// with the same share free, split over the orders as the recording machine's was. Null when unset or empty;
    /// anything but eleven counts at the end of the line is refused in one line.
    /// </summary>
    public static long[]? ScaledFreeArea(string name, long ramBytes)
    {
        string? v = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(v))
            return null;
        string[] tokens = v.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var counts = new List<long>();
        for (int i = tokens.Length - 1; i >= 0 && counts.Count < 11; i--)
        {
            if (!long.TryParse(tokens[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n))
                break;
            counts.Insert(0, n);
        }
        // Eleven counts alone, or a whole "Node 0, zone   Normal  n0 … n10" line.
        if (counts.Count != 11 || (tokens.Length != 11 && tokens[^12] != "Normal"))
            throw new EcsMem.Diagnostics.InputException(name, 0, v, "not the eleven free-block counts of a /proc/buddyinfo Normal line");
        long pages = ramBytes / 4096;
        return [.. counts.Select(n => (long)Math.Round(n * (double)pages / RecordingNormalManaged, MidpointRounding.AwayFromZero))];
    }
}
