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

    /// <summary>ChampSim input_instr records (64 bytes each).</summary>
    ChampSim,

    /// <summary>ChampSim cloudsuite_instr records (96 bytes each).</summary>
    CloudSuite,

    /// <summary>libCacheSim oracleGeneral records (24 bytes each), object id = page.</summary>
    OracleGeneral,

    /// <summary>libCacheSim-style CSV in the default layout (obj_id,obj_size,op), object id = page.</summary>
    Csv,

    /// <summary>Detected from the content (<c>EcsMem.Traces.TraceFormatDetector</c>).</summary>
    Auto,
}
