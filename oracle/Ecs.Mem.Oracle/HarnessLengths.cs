using System.Globalization;
using EcsMem.Diagnostics;

namespace EcsMem.Oracle;

/// <summary>One phase's measured harness lengths (<see cref="HarnessLengths"/>).</summary>
/// <param name="Phase">The phase's name.</param>
/// <param name="SmapsBytes">The bytes phase_end's <c>slurp("/proc/self/smaps")</c> read into <c>buf</c>.</param>
/// <param name="RecordBytes">The bytes the phase_end appended to <c>out</c> (its record, the leading comma included).</param>
public sealed record HarnessPhaseLengths(string Phase, long SmapsBytes, long RecordBytes);

/// <summary>
/// A memcg program's measured harness lengths (oracle/harness-lengths.tsv, from oracle/experiments/harness-lengths on
/// Linux 6.18): where gcc put <c>buf</c> and <c>out</c> in their first pages (<c>nm</c>), the bytes main emits before the
/// first phase, and per phase the smaps slurp's and the record's bytes. They replace the one-size model
/// (<see cref="HarnessFootprint.SmapsBufPages"/>, <see cref="HarnessFootprint.RecordBytesPerPhase"/>) by default
/// (<see cref="HarnessFootprint.MeasuredLengths"/>).
/// </summary>
/// <param name="Program">The program's name.</param>
/// <param name="BufPageOffset"><c>buf</c>'s offset in the .data page (the bss's anonymous pages start at the next page).</param>
/// <param name="OutPageOffset"><c>out</c>'s offset in its first page (<see cref="HarnessFootprint.OutnPage"/>).</param>
/// <param name="HeadBytes">The record's head: the bytes main emits before the first phase_end.</param>
/// <param name="Phases">The phases, in order.</param>
public sealed record HarnessLengths(string Program, long BufPageOffset, long OutPageOffset, long HeadBytes, IReadOnlyList<HarnessPhaseLengths> Phases)
{
    /// <summary>The file's name, beside oracle/fixtures.json.</summary>
    public const string FileName = "harness-lengths.tsv";

    /// <summary>The header line the file must have (after its comment lines).</summary>
    public const string Header = "program\tphase\tbuf_page_offset\tout_page_offset\thead_bytes\tsmaps_bytes\trecord_bytes";

    /// <summary>
    /// The bss pages (from the bss's first, <c>buf</c>'s second page) the smaps slurp of phase_end <paramref name="phase"/>
    /// (1-based) writes: <c>slurp</c> reads the file into <c>buf</c> from its start and stores the NUL at <c>buf[n]</c>, so
    /// it writes bytes 0..n, of which the first 4096 − <see cref="BufPageOffset"/> are in the .data page (a start-up page).
    /// </summary>
    public long SmapsBufPages(int phase)
    {
        long before = ProgramPlan.PageSize - BufPageOffset, last = Phases[phase - 1].SmapsBytes;
        return last < before ? 0 : ((last - before) / ProgramPlan.PageSize) + 1;
    }

    /// <summary>
    /// Where phase_end <paramref name="phase"/>'s (1-based) record starts, in bytes from <see cref="HarnessFootprint.OutnPage"/>'s
    /// start: <c>out</c>'s offset, the head and the records before it. Phase <c>Phases.Count + 1</c> gives the last record's end.
    /// </summary>
    public long RecordStart(int phase)
    {
        long at = OutPageOffset + HeadBytes;
        for (int i = 0; i < phase - 1; i++)
            at += Phases[i].RecordBytes;
        return at;
    }

    /// <summary>The lengths in <paramref name="path"/>, by program.</summary>
    public static IReadOnlyDictionary<string, HarnessLengths> Load(string path) => Parse(File.ReadAllLines(path), path);

    /// <summary>
    /// Parses the file's <paramref name="lines"/> (<paramref name="source"/> names it in errors): comment lines (<c>#</c>),
    /// the <see cref="Header"/>, then one tab-separated line per program and phase, a program's phases together and in
    /// order, its first three figures the same on each. A bad line is an <see cref="InputException"/> naming the file,
    /// the line and the value.
    /// </summary>
    public static IReadOnlyDictionary<string, HarnessLengths> Parse(IEnumerable<string> lines, string source)
    {
        var result = new Dictionary<string, HarnessLengths>(StringComparer.Ordinal);
        bool header = false;
        string? current = null;
        long lineNo = 0;
        (long Buf, long Out, long Head) layout = default;
        var phases = new List<HarnessPhaseLengths>();
        void Close()
        {
            if (current is not null)
                result[current] = new HarnessLengths(current, layout.Buf, layout.Out, layout.Head, [.. phases]);
        }
        foreach (string line in lines)
        {
            lineNo++;
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            if (!header)
            {
                if (line != Header)
                    throw new InputException(source, lineNo, line, $"not the header ({Header.Replace('\t', ' ')})");
                header = true;
                continue;
            }
            string[] f = line.Split('\t');
            if (f.Length != 7)
                throw new InputException(source, lineNo, line, $"{f.Length} tab-separated fields, not 7");
            if (f[0].Length == 0 || f[1].Length == 0)
                throw new InputException(source, lineNo, line, "empty program or phase name");
            long Number(int i, long max)
            {
                if (!long.TryParse(f[i], NumberStyles.None, CultureInfo.InvariantCulture, out long v) || v > max)
                    throw new InputException(source, lineNo, f[i], $"field {i + 1} is not a whole number of 0 to {max}");
                return v;
            }
            (long, long, long) l = (Number(2, ProgramPlan.PageSize - 1), Number(3, ProgramPlan.PageSize - 1), Number(4, HarnessFootprint.BufBytes));
            var phase = new HarnessPhaseLengths(f[1], Number(5, HarnessFootprint.BufBytes - 1), Number(6, HarnessFootprint.BufBytes));
            if (f[0] != current)
            {
                if (result.ContainsKey(f[0]))
                    throw new InputException(source, lineNo, f[0], "program's phases not together");
                Close();
                current = f[0];
                layout = l;
                phases.Clear();
            }
            else if (l != layout)
            {
                throw new InputException(source, lineNo, line, $"layout fields differ from the program's first line ({layout.Buf} {layout.Out} {layout.Head})");
            }
            else if (phases.Any(p => p.Phase == phase.Phase))
            {
                throw new InputException(source, lineNo, f[1], "phase listed twice");
            }
            phases.Add(phase);
        }
        if (!header)
            throw new InputException(source, lineNo, "", "no header line");
        Close();
        return result;
    }

    /// <summary>
    /// The lengths of <paramref name="p"/> from <paramref name="path"/>'s table <paramref name="all"/>, null when the table
    /// lacks the program; an <see cref="InputException"/> when its phases are not the table's.
    /// </summary>
    public static HarnessLengths? For(PhaseProgram p, IReadOnlyDictionary<string, HarnessLengths> all, string path)
    {
        if (!all.TryGetValue(p.Name, out HarnessLengths? l))
            return null;
        string want = string.Join(",", p.Phases.Select(ph => ph.Name)), got = string.Join(",", l.Phases.Select(ph => ph.Phase));
        if (want != got)
            throw new InputException(path, 0, got, $"{p.Name}'s phases are {want}");
        return l;
    }
}
