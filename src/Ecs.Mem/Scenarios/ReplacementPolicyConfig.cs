namespace EcsMem.Scenarios;

/// <summary>
/// The page-replacement policy chosen by name. The name is only checked for shape here: the policy registry
/// (another part of EcsMem) checks it exists and interprets <see cref="Options"/>, reporting errors at <see cref="Line"/>.
/// </summary>
/// <param name="Name">Registry name, e.g. <c>linux</c>.</param>
/// <param name="Options">Options in file order (order is kept so that output is deterministic).</param>
/// <param name="Line">1-based line of the name (0 when the default was used).</param>
public sealed record ReplacementPolicyConfig(string Name, IReadOnlyList<PolicyOption> Options, int Line)
{
    /// <summary>The policy used when a scenario names none: Linux's active/inactive two-list LRU.</summary>
    public const string DefaultName = "linux";

    /// <summary>
    /// Why <c>machine.writeback: async</c> is refused with <paramref name="policy"/>: only the linux policy's lruvec keeps a
    /// page under PG_writeback until folio_end_writeback; a simple policy writes inside reclaim. One text for the
    /// scenario parser (at the key's line) and the kernel's check of a <c>--policy</c> override.
    /// </summary>
    public static string WritebackNeedsLinux(string policy) =>
        $"machine.writeback: async needs the linux policy (its lruvec keeps pages under PG_writeback until the write completes); {policy} writes inside reclaim, use writeback: sync";

    /// <summary>The default policy with no options.</summary>
    public static ReplacementPolicyConfig Default { get; } = new(DefaultName, [], 0);

    /// <summary>The value of option <paramref name="key"/>, or null when absent.</summary>
    public string? Option(string key)
    {
        foreach (var o in Options)
            if (o.Key == key)
                return o.Value;
        return null;
    }
}
