namespace EcsMem.Scenarios;

/// <summary>Formats of recorded access traces a process can replay.</summary>
public enum TraceFormat
{
    /// <summary>Valgrind Lackey <c>--trace-mem=yes</c> output (<c>I</c>, <c> L</c>, <c> S</c>, <c> M</c> lines).</summary>
    Lackey,

    /// <summary>Intel Pin pinatrace output (<c>ip: R|W address</c>).</summary>
    Pinatrace,

    /// <summary>One page number (or address) per line, the simplest textbook trace.</summary>
    Pages,

    /// <summary>EcsMem's compact binary trace format.</summary>
    Binary,
}
