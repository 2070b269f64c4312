namespace EcsMem.Systems.Reporting;

/// <summary>How a <see cref="ConfigValue"/> is written in JSON.</summary>
public enum ConfigValueKind
{
    /// <summary>An integer or a decimal number.</summary>
    Number,

    /// <summary><c>true</c> or <c>false</c>.</summary>
    Bool,

    /// <summary>A string (a name such as <c>x86-64</c> or <c>non-inclusive</c>).</summary>
    Text,

    /// <summary>A list of integers, printed <c>[a,b,…]</c> (one word) and written as a JSON array; <c>none</c> (JSON null) when absent.</summary>
    List,
}

/// <summary>
/// One line of the report's effective configuration: a machine value the run used, under its scenario key
/// (<c>ram</c>, <c>caches.l2.ways</c>, <c>latency.major_fault</c>; <c>fixed.</c> for values no scenario key sets).
/// </summary>
/// <param name="Key">The scenario key, dotted below <c>machine:</c>.</param>
/// <param name="Text">The value as the text report prints it (invariant culture; bytes, cycles, counts, names).</param>
/// <param name="Kind">How the JSON writes it.</param>
/// <param name="Note">A remark for the text report (e.g. where a derived value came from), or empty.</param>
public readonly record struct ConfigValue(string Key, string Text, ConfigValueKind Kind, string Note = "");
