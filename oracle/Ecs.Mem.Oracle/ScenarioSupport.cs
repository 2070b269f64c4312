using EcsMem.Diagnostics;
using EcsMem.Scenarios;

namespace EcsMem.Oracle;

/// <summary>
/// Which scenario keys this build of EcsMem understands, found by parsing a tiny scenario with each one: the
/// mechanisms of issue 13 arrive on other branches (fault-around and readahead, swap-in), and the generator
/// writes a key only once the parser accepts it — after a merge, <c>gen</c> then expresses more programs.
/// </summary>
public static class ScenarioSupport
{
    /// <summary>The recorded machine's settings the scenarios reproduce (a test holds them to fixtures.json).</summary>
    public const int ReadAheadKb = 8192;
    public const int FaultAroundBytes = 65536;
    public const int PageCluster = 3;

    public static readonly bool FaultAround = Accepts("machine: {fault_around_bytes: 65536}\n", "");
    public static readonly bool ReadAhead = Accepts("machine: {read_ahead_kb: 128}\n", "");
    public static readonly bool SwapReadahead = Accepts("machine: {page_cluster: 3}\n", "");
    public static readonly bool Madvise = Accepts("", "madvise: {addr: 0x100000000000, length: 4096, advice: random}");
    public static readonly bool Fadvise = Accepts("", "fadvise: {file: f, advice: dontneed}");
    /// <summary>mremap, madvise dontneed/free/dontfork, mlock/munlock and mmap's <c>locked</c> key (issue 13 item 5).</summary>
    public static readonly bool MmOps = Accepts("", "mremap: {addr: 0x100000000000, old_length: 4096, new_length: 8192}") &&
        Accepts("", "madvise: {addr: 0x100000000000, length: 4096, advice: dontneed}") &&
        Accepts("", "mlock: {addr: 0x100000000000, length: 4096}") &&
        Accepts("", "mmap: {addr: 0x100000000000, length: 4096, prot: rw-, flags: private, fixed: true, locked: true}");

    /// <summary>madvise cold and pageout (issue 13 item 5).</summary>
    public static readonly bool ColdPageout = Accepts("", "madvise: {addr: 0x100000000000, length: 4096, advice: pageout}");

    /// <summary>Descriptors: open, memfd_create, ftruncate, close and mmap's <c>fd</c> key (issue 13 items 6 and 7).</summary>
    public static readonly bool Fds = Accepts("", "memfd_create: {name: m, fd: 3}") && Accepts("", "mmap: {addr: 0x100000000000, length: 4096, flags: shared, fd: 3}");

    private static bool Accepts(string machine, string op)
    {
        string yaml = machine + "processes:\n  - name: p\n    workload: {generator: \"seq:count=1,pages=1\"}\n" +
            (op.Length > 0 ? "timeline:\n  - after: 0\n    process: p\n    " + op + "\n" : "");
        try
        {
            ScenarioParser.Parse(new StringReader(yaml), "probe");
            return true;
        }
        catch (InputException)
        {
            return false;
        }
    }
}
