using EcsMem.Scenarios;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Small scenarios (a few tens of thousands of accesses each) covering the kernel's paths: a reduced default
/// scenario, fork with a scripted timeline, heavy swapping, and an OOM kill. Written here, not read from disk,
/// so the tests own their inputs.
/// </summary>
internal static class ReliabilityScenarios
{
    /// <summary>The default scenario's six behaviours scaled down to 4 MiB of RAM and ~60000 accesses.</summary>
    public const string ReducedDefault = """
        machine:
          ram: 4M
          swap: 16M
          policy: linux
          quantum: 2000
          seed: 1
        processes:
          - name: database
            layout:
              exec: {file: /usr/sbin/minidb, text: 256K, data: 64K, bss: 16K, heap: 4M}
            workload:
              generator: "zipf:count=15000,pages=1024,alpha=0.8,writes=0.5,seed=11"
          - name: scanner
            layout:
              exec: {file: /usr/bin/scan, text: 64K}
            workload:
              generator: "seq:count=10000,base=0x7f0000000000,region=2M,elem=128"
          - name: matmul
            layout:
              exec: {file: /usr/bin/matmul, text: 64K, heap: 256K}
            workload:
              generator: "matmul:count=10000,n=64"
          - name: server
            layout:
              exec: {file: /usr/sbin/httpd, text: 128K, heap: 1M}
            workload:
              generator: "loop:count=8000,pages=256,writes=0.2"
            children:
              count: 2
              after: 2000
              workload:
                generator: "uniform:count=3000,pages=128,writes=0.5,seed=21"
          - name: chase
            start: 200000
            layout:
              exec: {file: /usr/bin/chase, heap: 2M}
            workload:
              generator: "chase:count=8000,pages=512,seed=31"
        timeline:
          - at: 0
            process: scanner
            mmap: {addr: 0x7f0000000000, length: 2M, prot: r--, flags: private, file: /data/scan.dat, fixed: true}
          - after: 7000
            process: database
            brk: {delta: 1M}
          - after: 9000
            process: scanner
            munmap: {addr: 0x7f0000000000, length: 2M}
          - after: 2500
            process: server-1
            exit:
        """;

    /// <summary>Fork with copy-on-write plus mmap (anonymous and shared file), mprotect, munmap and brk on the timeline.</summary>
    public const string ForkTimeline = """
        machine:
          ram: 2M
          swap: 8M
          quantum: 500
          seed: 7
        processes:
          - name: parent
            layout:
              exec: {file: /bin/parent, text: 64K, heap: 512K}
            workload:
              generator: "uniform:count=12000,pages=128,writes=0.5,seed=3"
        timeline:
          - after: 1000
            process: parent
            mmap: {addr: 0x7e0000000000, length: 256K, prot: rw-, flags: private, fixed: true}
          - after: 1500
            process: parent
            mmap: {addr: 0x7e1000000000, length: 128K, prot: rw-, flags: shared, file: /data/shared.bin, fixed: true}
          - after: 2000
            process: parent
            fork:
              child: kid
              workload:
                generator: "uniform:count=6000,base=0x7e0000000000,pages=64,writes=0.7,seed=5"
          - after: 3000
            process: kid
            fork:
              child: grandkid
              workload:
                generator: "loop:count=3000,base=0x7e1000000000,pages=32,writes=0.3"
          - after: 4000
            process: parent
            mprotect: {addr: 0x7e0000000000, length: 64K, prot: r--}
          - after: 5000
            process: parent
            brk: {delta: 256K}
          - after: 6000
            process: parent
            munmap: {addr: 0x7e0000010000, length: 64K}
          - after: 7000
            process: parent
            brk: {delta: -128K}
          - after: 4000
            process: kid
            munmap: {addr: 0x7e1000000000, length: 128K}
        """;

    /// <summary>Two processes writing 3 MiB each in 1 MiB of RAM: constant swap-out and swap-in.</summary>
    public const string Swapping = """
        machine:
          ram: 1M
          swap: 16M
          quantum: 300
          seed: 3
        processes:
          - name: a
            layout:
              exec: {file: /bin/a, text: 16K, heap: 3M}
            workload:
              generator: "uniform:count=12000,pages=768,writes=0.6,seed=1"
          - name: b
            layout:
              exec: {file: /bin/b, text: 16K, heap: 3M}
            workload:
              generator: "zipf:count=12000,pages=768,alpha=0.9,writes=0.4,seed=2"
        """;

    /// <summary>No swap and 512 KiB of RAM: the writers cannot all fit, the OOM killer must pick one.</summary>
    public const string Oom = """
        machine:
          ram: 512K
          swap: 0
          overcommit_memory: 1
          quantum: 200
          seed: 5
        processes:
          - name: small
            layout:
              exec: {file: /bin/small, text: 16K, heap: 64K}
            workload:
              generator: "loop:count=4000,pages=8,writes=0.5"
          - name: hog
            layout:
              exec: {file: /bin/hog, text: 16K, heap: 2M}
            workload:
              generator: "loop:count=6000,pages=512,writes=1"
          - name: hog2
            layout:
              exec: {file: /bin/hog2, text: 16K, heap: 1M}
            workload:
              generator: "uniform:count=4000,pages=256,writes=1,seed=9"
        """;

    /// <summary>
    /// Two CPUs and two multi-threaded processes sharing 1 MiB of RAM: the threads of a process fault, swap and
    /// break copy-on-write in one address space (shootdowns), one thread exits early by itself and a group
    /// leader's exit ends its whole thread group (exit_group) while its thread is still running.
    /// </summary>
    public const string Threads = """
        machine:
          ram: 1M
          swap: 16M
          cpus: 2
          quantum: 300
          seed: 9
        processes:
          - name: web
            layout:
              exec: {file: /bin/web, text: 16K, heap: 2M}
            workload:
              generator: "uniform:count=6000,pages=384,writes=0.5,seed=1"
            threads:
              - workload: {generator: "zipf:count=6000,pages=384,alpha=0.9,writes=0.3,seed=2"}
              - name: web.io
                start: 20000
                workload: {generator: "loop:count=5000,pages=128,writes=0.2"}
          - name: batch
            layout:
              exec: {file: /bin/batch, text: 16K, heap: 1M}
            workload:
              generator: "loop:count=8000,pages=256,writes=0.6"
            threads:
              - workload: {generator: "uniform:count=8000,pages=256,writes=0.4,seed=3"}
            children:
              count: 1
              after: 1000
              workload:
                generator: "uniform:count=2000,pages=128,writes=0.5,seed=4"
        timeline:
          - after: 2500
            process: web.io
            exit:
          - after: 5000
            process: batch
            exit:
        """;

    public static readonly (string Name, string Yaml)[] All =
    [
        ("reduced-default", ReducedDefault),
        ("fork-timeline", ForkTimeline),
        ("swapping", Swapping),
        ("oom", Oom),
        ("threads", Threads),
    ];

    public static Scenario Parse(string yaml, string name = "test.yaml") =>
        ScenarioParser.Parse(new StringReader(yaml), name);
}
