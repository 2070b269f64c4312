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
}
