namespace EcsMem.Scenarios;

/// <summary>Page protection bits of a mapping (PROT_READ, PROT_WRITE, PROT_EXEC), written <c>rwx</c>-style.</summary>
[Flags]
public enum Protection
{
    /// <summary>PROT_NONE: any access faults.</summary>
    None = 0,

    /// <summary>PROT_READ.</summary>
    Read = 1,

    /// <summary>PROT_WRITE.</summary>
    Write = 2,

    /// <summary>PROT_EXEC.</summary>
    Exec = 4,
}
