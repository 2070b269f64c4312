using EcsMem.Components;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Addresses a trace gives beyond the paging mode's user address space. Linux answers such an access with
/// SIGSEGV (a non-canonical address raises #GP, one above TASK_SIZE finds no VMA), and so must the simulator:
/// in particular the page walk must not fold the high bits away and reach another page's PTE.
/// </summary>
public class AddressWidthTests
{
    private static string WriteTrace(params ulong[] pages)
    {
        string path = Path.Combine(Path.GetTempPath(), $"ecsmem-width-{Environment.ProcessId}-{Guid.NewGuid():N}.pages");
        File.WriteAllLines(path, pages.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return path;
    }

    private static EcsMem.Systems.Machine.Machine RunTrace(string paging, params ulong[] pages)
    {
        string trace = WriteTrace(pages);
        try
        {
            string yaml = $$"""
                machine:
                  ram: 1M
                  swap: 0
                  paging: {{paging}}
                processes:
                  - name: p
                    layout:
                      exec: {file: /bin/p, text: 16K}
                    workload:
                      trace: {path: {{trace}}, format: pages}
                timeline:
                  - at: 0
                    process: p
                    mmap: {addr: 0x10000000, length: 64K, prot: rw-, flags: private, fixed: true}
                """;
            var m = ScenarioLoader.Build(ReliabilityScenarios.Parse(yaml));
            m.RunChecked();
            return m;
        }
        finally
        {
            File.Delete(trace);
        }
    }

    [Test]
    public void InRangeAccessesRunNormally()
    {
        // Control: the mapped page itself, twice.
        using var m = RunTrace("x86-64", 0x10000, 0x10000);
        Process p = m.Kernel.World.Get<Process>(m.Kernel.Tasks.Processes[0]);
        Assert.That(p.State, Is.EqualTo(ProcessState.Exited));
        Assert.That(m.CompletedAccesses(), Is.EqualTo(2));
    }

    [TestCase("x86-64", 48)]   // a 57-bit address on 4-level paging
    [TestCase("x86-64", 56)]
    [TestCase("x86-64-la57", 57)]
    [TestCase("x86", 32)]     // above 4 GiB on 32-bit paging
    public void AddressAboveTheUserSpaceIsASegfault(string paging, int bit)
    {
        // Page 0x10000 is mapped and touched first; then the same page with bit `bit` of the address set.
        // Folding the high bits away would silently hit the first page's PTE.
        ulong aliased = 0x10000UL + (1UL << (bit - 12));
        using var m = RunTrace(paging, 0x10000, aliased);
        Process p = m.Kernel.World.Get<Process>(m.Kernel.Tasks.Processes[0]);
        Assert.That(p.State, Is.EqualTo(ProcessState.Killed), "the access must not succeed");
        Assert.That(p.ExitSignal, Is.EqualTo(11));
        Assert.That(m.CompletedAccesses(), Is.EqualTo(1));
        Assert.That(m.Kernel.Tasks.KillLog.Single(), Does.Contain($"segfault at {aliased << 12:x}"));
    }
}
