using System.Globalization;
using EcsMem.Diagnostics;

namespace EcsMem.Oracle;

/// <summary>One operation of a phase program, as written (one line of a <c>.phases</c> file).</summary>
public sealed record PhaseOp(string Verb, IReadOnlyList<string> Args, int Line)
{
    /// <summary>The i-th argument, or null.</summary>
    public string? Arg(int i) => i < Args.Count ? Args[i] : null;

    /// <summary>Whether a bare word (<c>populate</c>, <c>locked</c>…) appears among the arguments.</summary>
    public bool Has(string word) => Args.Contains(word, StringComparer.Ordinal);

    /// <summary>The argument following <paramref name="key"/> (<c>offset 1M</c>, <c>after a</c>), or null.</summary>
    public string? After(string key)
    {
        for (int i = 0; i + 1 < Args.Count; i++)
            if (Args[i] == key)
                return Args[i + 1];
        return null;
    }
}

/// <summary>A measured phase: its name and operations; the C program reads getrusage and /proc around it.</summary>
public sealed record Phase(string Name, IReadOnlyList<PhaseOp> Ops, int Line);

/// <summary>A data file the program maps: created by record.sh with random bytes.</summary>
public sealed record DataFile(string Name, long Size, bool Warm);

/// <summary>
/// One kit program (<c>oracle/programs/NAME.phases</c>): the description both the C program and the EcsMem scenario
/// are generated from. The language is one statement a line:
/// <c>describe TEXT</c>, <c>file NAME SIZE</c>, <c>cache NAME warm|cold</c>, <c>memcg SIZE</c>, <c>swap</c>,
/// <c>phase NAME</c>, then operations (see oracle/README.md).
/// </summary>
public sealed class PhaseProgram
{
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required IReadOnlyList<DataFile> Files { get; init; }
    public long? MemcgLimit { get; init; }
    public bool Swap { get; init; }

    /// <summary>
    /// <c>swap partition</c>: the 1 GiB swap area is a block device (a loop device over the file), which takes
    /// order-9 swap entries (THP_SWAP); the scenario gets <c>machine.swap_type: partition</c>.
    /// </summary>
    public bool SwapPartition { get; init; }

    /// <summary>
    /// <c>overcommit MODE</c>: vm.overcommit_memory (0, 1 or 2) while the program runs (record.sh sets it and restores
    /// the machine's value); null = the machine's own (the recorded setting, 0 by default).
    /// </summary>
    public int? Overcommit { get; init; }

    /// <summary>
    /// <c>hugepages N</c>: vm.nr_hugepages while the program runs (record.sh writes it and restores the machine's value);
    /// the scenario gets <c>machine.hugetlb.nr_hugepages</c>. Null: none (the machine's own, 0 here).
    /// </summary>
    public long? HugePages { get; init; }

    /// <summary>
    /// <c>mthp SIZE MODE</c> lines: /sys/kernel/mm/transparent_hugepage/hugepages-SIZE/enabled while the program runs
    /// (record.sh writes it and puts the machine's value back); the scenario gets <c>machine.thp.sizes</c>. SIZE as the
    /// scenario names it (16K … 1M), MODE always, inherit, madvise or never.
    /// </summary>
    public IReadOnlyList<(string Size, string Mode)> Mthp { get; init; } = [];

    /// <summary>
    /// <c>smaps</c>: the harness also records every /proc/self/smaps field of the program's VMAs (Pss, Shared_*,
    /// Private_*, Referenced, AnonHugePages, SwapPss, THPeligible, VmFlags ...), compared field by field.
    /// </summary>
    public bool Smaps { get; init; }

    /// <summary><c>swappiness N</c>: the program's memory cgroup's memory.swappiness (cgroup v1), 0–200; needs <c>memcg</c>.</summary>
    public int? Swappiness { get; init; }
    public required IReadOnlyList<Phase> Phases { get; init; }
    public required string SourcePath { get; init; }

    /// <summary>The operations the language knows and their minimum argument counts.</summary>
    public static readonly IReadOnlyDictionary<string, int> Verbs = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["mmap"] = 4, // mmap R anon SIZE PROT [private|shared] | mmap R file F SIZE PROT [private|shared]
        ["memfd"] = 2, // memfd R SIZE [map LEN]: a memfd of SIZE bytes mapped LEN (default SIZE) shared
        ["memfd-map"] = 2,
        ["tmpfs"] = 3, // tmpfs R NAME SIZE: a file on tmpfs (/dev/shm), created, sized and mapped shared
        ["touch-sigbus"] = 3, // touch-sigbus R read|write OFF: one access expected to end in SIGBUS (the program's last)
        ["brk"] = 2,
        ["touch"] = 2,
        ["touch-random"] = 4,
        ["munmap"] = 1,
        ["mprotect"] = 4,
        ["fork"] = 0,
        ["fork-touch"] = 2, // fork-touch R read|write [expect SIGKILL]: a child touches all of R and exits (or is killed); the parent waits for it
        ["madvise"] = 2,
        ["fadvise"] = 2,
        ["mremap"] = 2,
        ["mlock"] = 1,
        ["munlock"] = 1,
        ["create"] = 2, // create R NAME: a new regular file NAME in the data folder (O_CREAT|O_TRUNC), its descriptor kept as R's
        ["pwrite"] = 3, // pwrite R OFF LEN [bs SIZE]: pwrite(2) to a memfd's, tmpfs file's or created file's descriptor, no mapping
        ["pread"] = 3, // pread R OFF LEN: pread(2) from it (holes read as zeroes)
        ["fallocate"] = 3, // fallocate R OFF LEN [keep_size] [punch_hole]
        ["unlink"] = 1, // unlink R: unlink(2) of a tmpfs file (the inode lives while open or mapped)
    };

    /// <summary>Reads and checks a program; errors are <see cref="InputException"/> naming file and line.</summary>
    public static PhaseProgram Parse(string path)
    {
        string name = Path.GetFileNameWithoutExtension(path);
        string? description = null;
        var files = new List<DataFile>();
        long? memcg = null;
        bool swap = false, swapPartition = false, smaps = false;
        var mthp = new List<(string, string)>();
        int? overcommit = null;
        long? hugepages = null;
        int? swappiness = null;
        var phases = new List<Phase>();
        List<PhaseOp>? ops = null;
        string? phaseName = null;
        int phaseLine = 0;
        int sigbusLine = 0;
        var regions = new HashSet<string>(StringComparer.Ordinal);
        var shmemFiles = new HashSet<string>(StringComparer.Ordinal);
        var tmpfsFiles = new HashSet<string>(StringComparer.Ordinal);
        var createdFiles = new HashSet<string>(StringComparer.Ordinal);
        string[] lines = File.ReadAllLines(path);
        for (int n = 0; n < lines.Length; n++)
        {
            int line = n + 1;
            string text = lines[n];
            int hash = text.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
                text = text[..hash];
            string[] w = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (w.Length == 0)
                continue;
            switch (w[0])
            {
                case "describe":
                    description = text.Trim()["describe".Length..].Trim();
                    continue;
                case "file":
                    Need(path, line, w, 3);
                    files.Add(new DataFile(w[1], Size(path, line, w[2]), false));
                    continue;
                case "cache":
                    Need(path, line, w, 3);
                    int fi = files.FindIndex(f => f.Name == w[1]);
                    if (fi < 0)
                        throw new InputException(path, line, w[1], "cache names a file not declared with 'file'");
                    if (w[2] is not ("warm" or "cold"))
                        throw new InputException(path, line, w[2], "cache state must be warm or cold");
                    files[fi] = files[fi] with { Warm = w[2] == "warm" };
                    continue;
                case "memcg":
                    Need(path, line, w, 2);
                    memcg = Size(path, line, w[1]);
                    continue;
                case "swap":
                    swap = true;
                    if (w.Length > 1)
                    {
                        if (w.Length > 2 || w[1] is not ("file" or "partition"))
                            throw new InputException(path, line, w[^1], "swap takes nothing, file or partition");
                        swapPartition = w[1] == "partition";
                    }
                    continue;
                case "smaps":
                    if (w.Length > 1)
                        throw new InputException(path, line, w[1], "smaps takes nothing");
                    smaps = true;
                    continue;
                case "overcommit":
                    Need(path, line, w, 2);
                    if (w[1] is not ("0" or "1" or "2"))
                        throw new InputException(path, line, w[1], "overcommit mode must be 0 (heuristic), 1 (always) or 2 (never)");
                    overcommit = w[1][0] - '0';
                    continue;
                case "hugepages":
                    Need(path, line, w, 2);
                    if (!long.TryParse(w[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long hp) || hp > 65536)
                        throw new InputException(path, line, w[1], "hugepages takes a count of 2 MiB pages, 0 to 65536");
                    hugepages = hp;
                    continue;
                case "mthp":
                    Need(path, line, w, 3);
                    if (Array.IndexOf(EcsMem.Scenarios.ThpConfig.SizeNames, w[1]) < 0)
                        throw new InputException(path, line, w[1], "mthp size must be one of " + string.Join(", ", EcsMem.Scenarios.ThpConfig.SizeNames));
                    if (Array.IndexOf(EcsMem.Scenarios.ThpConfig.SizeModeNames, w[2]) < 0)
                        throw new InputException(path, line, w[2], "mthp mode must be always, inherit, madvise or never");
                    mthp.Add((w[1], w[2]));
                    continue;
                case "swappiness":
                    Need(path, line, w, 2);
                    if (!int.TryParse(w[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int sw) || sw > 200)
                        throw new InputException(path, line, w[1], "swappiness must be a whole number from 0 to 200");
                    swappiness = sw;
                    continue;
                case "phase":
                    Need(path, line, w, 2);
                    if (sigbusLine > 0)
                        throw new InputException(path, line, w[0], "a phase after touch-sigbus (EcsMem ends the task at the signal: it must be the program's last)");
                    if (ops is not null)
                        phases.Add(new Phase(phaseName!, ops, phaseLine));
                    ops = new List<PhaseOp>();
                    phaseName = w[1];
                    phaseLine = line;
                    continue;
            }
            if (!Verbs.TryGetValue(w[0], out int min))
                throw new InputException(path, line, w[0], "unknown statement (expected describe, file, cache, memcg, swap, overcommit, swappiness, hugepages, mthp, phase or an operation: " + string.Join(", ", Verbs.Keys) + ")");
            if (ops is null)
                throw new InputException(path, line, w[0], "an operation before the first 'phase'");
            Need(path, line, w, min + 1);
            var op = new PhaseOp(w[0], w[1..], line);
            if (sigbusLine > 0)
                throw new InputException(path, line, w[0], "an operation after touch-sigbus (EcsMem ends the task at the signal: it must be the program's last)");
            if (op.Verb == "touch-sigbus")
            {
                if (ops.Count > 0)
                    throw new InputException(path, line, w[0], "touch-sigbus must be alone in its phase");
                sigbusLine = line;
            }
            if (op.Verb is "mmap" or "memfd" or "memfd-map" or "tmpfs" or "brk")
                regions.Add(w[1]);
            if (op.Verb is "memfd" or "tmpfs")
                shmemFiles.Add(w[1]);
            if (op.Verb is "tmpfs")
                tmpfsFiles.Add(w[1]);
            if (op.Verb is "create")
            {
                if (!regions.Add(w[1]))
                    throw new InputException(path, line, w[1], "a region of that name exists already");
                if (files.Any(f => f.Name == w[2]) || w[2].Contains('/', StringComparison.Ordinal))
                    throw new InputException(path, line, w[2], "create names a new file of the data folder (not a declared 'file', no '/')");
                createdFiles.Add(w[1]);
            }
            if (op.Verb is "pwrite" && !shmemFiles.Contains(w[1]) && !createdFiles.Contains(w[1]))
                throw new InputException(path, line, w[1], "pwrite needs a region made by memfd, tmpfs or create (its descriptor)");
            if (op.Verb is "pread" or "fallocate" && !shmemFiles.Contains(w[1]))
                throw new InputException(path, line, w[1], $"{op.Verb} needs a region made by memfd or tmpfs (its descriptor)");
            if (op.Verb is "pwrite" && w.Length > 4 && (w.Length != 6 || w[4] != "bs"))
                throw new InputException(path, line, w[4], "pwrite takes R OFF LEN, then optionally bs SIZE (the size of each pwrite)");
            if (op.Verb is "pwrite" && op.After("bs") is { } bs && (Size(path, line, bs) is var b && (b <= 0 || b > HarnessFootprint.BufBytes)))
                throw new InputException(path, line, bs, "pwrite's bs must be more than 0 and at most 256K (the harness's buffer)");
            if (op.Verb is "unlink" && !tmpfsFiles.Contains(w[1]))
                throw new InputException(path, line, w[1], "unlink needs a region made by tmpfs (a file with a name)");
            if (op.Verb is "fallocate" && w.Skip(4).FirstOrDefault(x => x is not ("keep_size" or "punch_hole")) is { } badMode)
                throw new InputException(path, line, badMode, "fallocate's mode words are keep_size and punch_hole");
            else if (op.Verb is "touch" or "touch-sigbus" or "fork-touch" or "touch-random" or "munmap" or "mprotect" or "madvise" or "mremap" or "mlock" or "munlock" && !regions.Contains(w[1]))
                throw new InputException(path, line, w[1], "names a region no earlier mmap, memfd, tmpfs or brk created");
            if (op.Verb == "fork-touch" && op.After("expect") is { } end && end != "SIGKILL")
                throw new InputException(path, line, end, "fork-touch can expect only SIGKILL (the child killed, e.g. by an OOM killer)");
            ops.Add(op);
        }
        if (ops is not null)
            phases.Add(new Phase(phaseName!, ops, phaseLine));
        if (description is null)
            throw new InputException(path, 1, name, "no 'describe' line");
        if (phases.Count == 0)
            throw new InputException(path, 1, name, "no phase");
        if (swappiness is not null && memcg is null)
            throw new InputException(path, 1, name, "swappiness sets the memory cgroup's memory.swappiness: it needs 'memcg'");
        return new PhaseProgram { Name = name, Description = description, Files = files, MemcgLimit = memcg, Swap = swap, SwapPartition = swapPartition, Smaps = smaps, Overcommit = overcommit, Swappiness = swappiness, HugePages = hugepages, Mthp = mthp, Phases = phases, SourcePath = path };
    }

    /// <summary>Every program of a folder, by name.</summary>
    public static IReadOnlyList<PhaseProgram> LoadAll(string folder) =>
        Directory.GetFiles(folder, "*.phases").OrderBy(p => p, StringComparer.Ordinal).Select(Parse).ToList();

    private static void Need(string path, int line, string[] w, int count)
    {
        if (w.Length < count)
            throw new InputException(path, line, string.Join(' ', w), $"'{w[0]}' needs {count - 1} argument(s)");
    }

    /// <summary>A size: bytes, or with K, M, G, T (binary multiples).</summary>
    public static long Size(string path, int line, string text)
    {
        long mul = 1;
        string t = text;
        char last = t.Length > 0 ? char.ToUpperInvariant(t[^1]) : ' ';
        switch (last)
        {
            case 'K': mul = 1L << 10; t = t[..^1]; break;
            case 'M': mul = 1L << 20; t = t[..^1]; break;
            case 'G': mul = 1L << 30; t = t[..^1]; break;
            case 'T': mul = 1L << 40; t = t[..^1]; break;
        }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
            throw new InputException(path, line, text, "not a size (bytes, or a number with K, M, G or T)");
        return v * mul;
    }
}
