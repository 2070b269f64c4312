using System.Globalization;

namespace EcsMem.Scenarios;

/// <summary>
/// The multi-gen LRU's two sysfs knobs (<c>machine.lru_gen</c>): /sys/kernel/mm/lru_gen/enabled as its capability
/// bits (LRU_GEN_CORE 0x0001: MGLRU replaces the active/inactive lists; LRU_GEN_MM_WALK 0x0002: the aging walks
/// page tables; LRU_GEN_NONLEAF_YOUNG 0x0004: the walk also clears the accessed bit of non-leaf PMD entries) and
/// /sys/kernel/mm/lru_gen/min_ttl_ms. Off by default (CONFIG_LRU_GEN_ENABLED=n), as on this machine's kernel.
/// </summary>
public sealed record LruGenConfig
{
    /// <summary>LRU_GEN_CORE.</summary>
    public const uint Core = 0x0001;

    /// <summary>LRU_GEN_MM_WALK.</summary>
    public const uint MmWalk = 0x0002;

    /// <summary>LRU_GEN_NONLEAF_YOUNG.</summary>
    public const uint NonleafYoung = 0x0004;

    /// <summary>Every capability (writing <c>y</c>).</summary>
    public const uint All = Core | MmWalk | NonleafYoung;

    /// <summary>MGLRU off.</summary>
    public static LruGenConfig Default { get; } = new();

    /// <summary>The capability bits as enabled_store keeps them (NR_LRU_GEN_CAPS = 3; higher bits are ignored).</summary>
    public uint Caps { get; init; }

    /// <summary>min_ttl_ms: kswapd's thrashing protection; 0 is off.</summary>
    public uint MinTtlMs { get; init; }

    /// <summary>lru_gen_enabled(): LRU_GEN_CORE is set.</summary>
    public bool Enabled => (Caps & Core) != 0;

    /// <summary>
    /// enabled_store: <c>n…</c> clears every capability, <c>y…</c> sets them all, anything else is an unsigned number
    /// in kstrtouint's base 0 (decimal, 0x hexadecimal, leading-0 octal). Null when the text is none of these.
    /// </summary>
    public static uint? ParseEnabled(string text)
    {
        string t = text.Trim();
        if (t.Length == 0)
            return null;
        char c = char.ToLowerInvariant(t[0]);
        if (c == 'n')
            return 0;
        if (c == 'y')
            return All;
        ulong v;
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            if (!ulong.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v))
                return null;
        }
        else if (t.Length > 1 && t[0] == '0')
        {
            v = 0;
            foreach (char d in t.AsSpan(1))
            {
                if (d < '0' || d > '7' || v > uint.MaxValue)
                    return null;
                v = v * 8 + (ulong)(d - '0');
            }
        }
        else if (!ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v))
        {
            return null;
        }
        if (v > uint.MaxValue)
            return null;
        return (uint)v & All;
    }

    /// <summary>enabled_show's text: <c>0x%04x</c> of the capabilities.</summary>
    public string EnabledText => "0x" + Caps.ToString("x4", CultureInfo.InvariantCulture);
}
