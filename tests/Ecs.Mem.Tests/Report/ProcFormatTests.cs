using System.Text;
using EcsMem.Components;
using EcsMem.Systems.Reporting;

namespace EcsMem.Tests.Report;

/// <summary>The /proc views print exactly as Linux prints them (fs/proc/task_mmu.c task_mem, fs/proc/meminfo.c, mm/vmstat.c).</summary>
public class ProcFormatTests
{
    [Test]
    public void StatusLinesFollowTaskMem()
    {
        var mm = new MmStruct
        {
            TotalVm = 1000,       // 4000 kB
            LockedVm = 2,
            RssAnon = 300,
            RssFile = 8,
            RssShmem = 1,
            DataVm = 500,
            StackVm = 33,
            ExecVm = 100,         // 400 kB executable
            StartCode = 0x401234, // text: PAGE_ALIGN(0x452001) - 0x401000 = 0x52000 = 328 kB
            EndCode = 0x452001,
            PgtablesBytes = 5 * 4096,
            SwapEnts = 7,
        };
        ProcStatus s = ProcStatus.TaskMem(mm, hiwaterVmPages: 1200, hiwaterRssPages: 250);
        var sb = new StringBuilder();
        s.AppendTo(sb);
        // VmPeak = max(total_vm, hiwater_vm) = 1200 pages; VmHWM = max(rss, hiwater_rss) = max(309, 250) = 309 pages;
        // VmLib = exec 400 kB - text 328 kB = 72 kB.
        Assert.That(sb.ToString(), Is.EqualTo(
            "VmPeak:\t    4800 kB\n" +
            "VmSize:\t    4000 kB\n" +
            "VmLck:\t       8 kB\n" +
            "VmPin:\t       0 kB\n" +
            "VmHWM:\t    1236 kB\n" +
            "VmRSS:\t    1236 kB\n" +
            "RssAnon:\t    1200 kB\n" +
            "RssFile:\t      32 kB\n" +
            "RssShmem:\t       4 kB\n" +
            "VmData:\t    2000 kB\n" +
            "VmStk:\t     132 kB\n" +
            "VmExe:\t     328 kB\n" +
            "VmLib:\t      72 kB\n" +
            "VmPTE:\t      20 kB\n" +
            "VmSwap:\t      28 kB\n"));
        Assert.That(s["VmRSS"], Is.EqualTo(1236));
    }

    [Test]
    public void TextLargerThanTheExecutableAreasIsClampedAsTaskMemDoes()
    {
        // text = min(PAGE_ALIGN(end_code) - start_code, exec_vm << PAGE_SHIFT): 2 pages of code, 1 executable page.
        var mm = new MmStruct { ExecVm = 1, StartCode = 0x400000, EndCode = 0x402000 };
        ProcStatus s = ProcStatus.TaskMem(mm, 0, 0);
        Assert.That(s["VmExe"], Is.EqualTo(4));
        Assert.That(s["VmLib"], Is.EqualTo(0));
    }

    [Test]
    public void WideValuesAreNotTruncated()
    {
        var sb = new StringBuilder();
        ProcStatus.AppendLine(sb, "VmSize", 123456789);
        Assert.That(sb.ToString(), Is.EqualTo("VmSize:\t123456789 kB\n"));
    }

    [Test]
    public void MeminfoLinesPadTheNameTo16AndTheValueTo8()
    {
        var g = new MemoryGauges { TotalPages = 4096, FreePages = 1000, PageCachePages = 3, SwapCachePages = 2, SwapTotalPages = 255, SwapFreePages = 250, PageTablePages = 4 };
        var sb = new StringBuilder();
        MemInfo.AppendTo(sb, MemInfo.Build(g));
        string[] lines = sb.ToString().Split('\n');
        Assert.That(lines[0], Is.EqualTo("MemTotal:          16384 kB"));
        Assert.That(lines[1], Is.EqualTo("MemFree:            4000 kB"));
        Assert.That(lines[2], Is.EqualTo("Cached:               12 kB"));
        Assert.That(lines[3], Is.EqualTo("SwapCached:            8 kB"));
        Assert.That(lines, Does.Contain("Active(anon):          0 kB"));
        Assert.That(lines, Does.Contain("SwapTotal:          1020 kB"));
        Assert.That(lines, Does.Contain("SwapFree:           1000 kB"));
        Assert.That(lines, Does.Contain("PageTables:           16 kB"));
    }

    [Test]
    public void VmstatIsNameSpaceValue()
    {
        var g = new MemoryGauges { FreePages = 17, PageCachePages = 3, SwapCachePages = 2 };
        var sb = new StringBuilder();
        VmStat.AppendTo(sb, VmStat.Gauges(g));
        string text = sb.ToString();
        Assert.That(text, Does.StartWith("nr_free_pages 17\n"));
        // nr_file_pages counts swap-cache pages too, as Linux's NR_FILE_PAGES does.
        Assert.That(text, Does.Contain("\nnr_file_pages 5\n"));
        Assert.That(text, Does.Contain("\nnr_swapcached 2\n"));
        Assert.That(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.All.Match("^[a-z_]+ [0-9]+$"));
    }
}
