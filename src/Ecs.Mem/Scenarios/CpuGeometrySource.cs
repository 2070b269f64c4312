namespace EcsMem.Scenarios;

/// <summary>Where the cache geometry comes from.</summary>
public enum CpuGeometrySource
{
    /// <summary>From the scenario's <c>caches</c> section, or the defaults of the seed lecture's lscpu.</summary>
    Configured,

    /// <summary><c>cpu: host</c>: read this machine's caches from sysfs when the simulation starts.</summary>
    Host,
}
