using System.Globalization;
using System.Text;
using EcsMem.Components;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// The memory lines of <c>/proc/&lt;pid&gt;/status</c> (VmPeak … VmSwap), computed and printed as Linux's
/// task_mem (fs/proc/task_mmu.c) does: every value in kB, each line <c>"Name:\t%8lu kB"</c>.
/// VmPeak and VmHWM take the larger of the high-water mark and the current value, as task_mem does,
/// because the kernel only updates the marks lazily.
/// </summary>
public sealed class ProcStatus
{
    /// <summary>The field names, in the order task_mem prints them.</summary>
    public static readonly IReadOnlyList<string> FieldNames =
    [
        "VmPeak", "VmSize", "VmLck", "VmPin", "VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem",
        "VmData", "VmStk", "VmExe", "VmLib", "VmPTE", "VmSwap",
    ];

    private readonly ulong[] _kb;

    private ProcStatus(ulong[] kb) => _kb = kb;

    /// <summary>The value of field <paramref name="index"/> (see <see cref="FieldNames"/>) in kB.</summary>
    public ulong this[int index] => _kb[index];

    /// <summary>The value of the field called <paramref name="name"/> in kB.</summary>
    public ulong this[string name] => _kb[IndexOf(name)];

    public ulong VmPeakKb => _kb[0];
    public ulong VmSizeKb => _kb[1];
    public ulong VmHwmKb => _kb[4];
    public ulong VmRssKb => _kb[5];
    public ulong RssAnonKb => _kb[6];
    public ulong RssFileKb => _kb[7];
    public ulong RssShmemKb => _kb[8];
    public ulong VmPteKb => _kb[13];
    public ulong VmSwapKb => _kb[14];

    private static int IndexOf(string name)
    {
        for (int i = 0; i < FieldNames.Count; i++)
            if (FieldNames[i] == name)
                return i;
        throw new ArgumentException($"no /proc/<pid>/status memory field called '{name}'", nameof(name));
    }

    /// <summary>
    /// task_mem: the status values of an address space from its mm_struct counters, its high-water marks
    /// (pages) and its page-table bytes.
    /// </summary>
    public static ProcStatus TaskMem(in MmStruct mm, ulong hiwaterVmPages, ulong hiwaterRssPages)
    {
        const int toKb = Pte.PageShift - 10;
        ulong anon = mm.RssAnon, file = mm.RssFile, shmem = mm.RssShmem;
        ulong totalVm = mm.TotalVm;
        ulong hiwaterVm = Math.Max(totalVm, hiwaterVmPages);
        ulong totalRss = anon + file + shmem;
        ulong hiwaterRss = Math.Max(totalRss, hiwaterRssPages);
        // Executable areas split between the program's text (start_code..end_code) and libraries.
        ulong execBytes = mm.ExecVm << Pte.PageShift;
        ulong textEnd = (mm.EndCode + Pte.PageSize - 1) & Pte.PageMask;
        ulong textStart = mm.StartCode & Pte.PageMask;
        ulong text = textEnd > textStart ? textEnd - textStart : 0;
        text = Math.Min(text, execBytes);
        ulong lib = execBytes - text;
        return new ProcStatus(
        [
            hiwaterVm << toKb, totalVm << toKb, mm.LockedVm << toKb, mm.PinnedVm << toKb,
            hiwaterRss << toKb, totalRss << toKb, anon << toKb, file << toKb, shmem << toKb,
            mm.DataVm << toKb, mm.StackVm << toKb, text >> 10, lib >> 10, mm.PgtablesBytes >> 10,
            mm.SwapEnts << toKb,
        ]);
    }

    /// <summary>Appends the lines exactly as the file shows them: <c>"VmRSS:\t    1234 kB\n"</c>.</summary>
    public void AppendTo(StringBuilder sb)
    {
        for (int i = 0; i < _kb.Length; i++)
            AppendLine(sb, FieldNames[i], _kb[i]);
    }

    /// <summary>One line: the name, a colon, a tab, the value right-aligned in 8 columns (seq_put_decimal_ull_width), " kB".</summary>
    public static void AppendLine(StringBuilder sb, string name, ulong kb) =>
        sb.Append(name).Append(":\t").Append(kb.ToString(CultureInfo.InvariantCulture).PadLeft(8)).Append(" kB\n");

    public override string ToString()
    {
        var sb = new StringBuilder(_kb.Length * 24);
        AppendTo(sb);
        return sb.ToString();
    }
}
