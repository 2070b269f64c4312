using EcsMem.Diagnostics;
using EcsMem.Scenarios;

namespace EcsMem.Tests.Scenarios;

/// <summary>
/// Every kind of bad scenario is an InputException naming the file, the YAML line of the offending node and its text.
/// Messages have the form "file:line: problem (got 'value')"; lines are counted by hand in each case.
/// </summary>
public class ScenarioErrorTests
{
    private const string P = ScenarioTestFiles.OneProcess;

    private static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData C(string name, string yaml, string message) => new TestCaseData(yaml, message).SetName("Error_" + name);

        yield return C("UnknownMachineKey", "machine:\n  rams: 64M\n" + P,
            "test.yaml:2: unknown key in machine (expected one of: cpu, cpus, ram, swap, page_size, paging, caches, tlb, latency, policy, min_free_kbytes, swappiness, page_cluster, swap_readahead, swap_ra_hits, swap_ra_window, swap_ra_prev_offset, swap_ra_clear_reclaim, fault_around_bytes, read_ahead_kb, large_folios, readahead_requests, per_cpu_pages, pcp_high_tuning, pcp_high_order, swapin_fault_in_window, swap_ra_plug_flush, reclaim_free_batch, charge_after_alloc, thp, hugetlb, pcid, quantum, smp_epoch, batch, seed, readahead_queue, overcommit_memory, overcommit_ratio, overcommit_kbytes, admin_reserve_kbytes, user_reserve_kbytes, writeback, cgroup_version, disk_max_segments, disk_queue_depth, reclaim_cost, dirty_background_ratio, dirty_background_bytes, dirty_ratio, dirty_bytes, dirty_expire_centisecs, dirty_writeback_centisecs, lru_gen, swap_type, compaction_proactiveness, watermark_boost_factor, free_area, free_area_cache) (got 'rams')");
        yield return C("ReclaimCostUnknownStep", "machine:\n  reclaim_cost: {write_us: 3}\n" + P,
            "test.yaml:2: unknown key in machine.reclaim_cost (expected one of: call_ns, batch_ns, isolate_ns, active_ns, keep_ns, free_ns, write_ns, shmem_write_ns) (got 'write_us')");
        yield return C("ReclaimCostNegative", "machine:\n  reclaim_cost: {free_ns: -1}\n" + P,
            "test.yaml:2: machine.reclaim_cost.free_ns must not be negative (got '-1')");
        yield return C("WritebackMode", "machine:\n  writeback: later\n" + P,
            "test.yaml:2: machine.writeback must be one of: sync, async (got 'later')");
        // Only the linux lruvec keeps pages under PG_writeback; fifo (and every other policy) would silently write in reclaim.
        yield return C("AsyncWritebackWithASimplePolicy", "machine:\n  policy: fifo\n  writeback: async\n" + P,
            "test.yaml:3: machine.writeback: async needs the linux policy (its lruvec keeps pages under PG_writeback until the write completes); fifo writes inside reclaim, use writeback: sync (got 'async')");
        yield return C("AsyncWritebackWithClockGivenInFull", "machine:\n  writeback: async\n  policy: {name: clock}\n" + P,
            "test.yaml:2: machine.writeback: async needs the linux policy (its lruvec keeps pages under PG_writeback until the write completes); clock writes inside reclaim, use writeback: sync (got 'async')");
        yield return C("DirtyBytesAndRatio", "machine:\n  dirty_ratio: 20\n  dirty_bytes: 1M\n" + P,
            "test.yaml:3: machine.dirty_bytes and machine.dirty_ratio exclude each other (Linux zeroes one when the other is written) (got '1M')");
        yield return C("DirtyBytesBelowTwoPages", "machine:\n  dirty_bytes: 4K\n" + P,
            "test.yaml:2: machine.dirty_bytes must be at least two pages (8192 bytes), as vm.dirty_bytes (got '4K')");
        yield return C("UnknownRootKey", P + "\ntimelines: []\n",
            "test.yaml:4: unknown key in the scenario (expected one of: description, machine, processes, timeline, cgroups) (got 'timelines')");
        yield return C("UnknownCacheKey", "machine:\n  caches:\n    l2: {size: 256K, assoc: 4}\n" + P,
            "test.yaml:3: unknown key in machine.caches.l2 (expected one of: size, ways, line, inclusion, shared) (got 'assoc')");
        yield return C("DuplicateKey", "machine:\n  ram: 64M\n  ram: 32M\n" + P,
            "test.yaml:3: YAML syntax error: Duplicate key ram (got 'ram: 32M')");
        yield return C("WrongTypeList", "machine:\n  ram: [1, 2]\n" + P,
            "test.yaml:2: machine.ram must be a single value, not a list or mapping (got '(a list)')");
        yield return C("WrongTypeSection", "machine: 64M\n" + P,
            "test.yaml:1: machine must be a mapping of keys to values (got '64M')");
        yield return C("NotASize", "machine:\n  ram: lots\n" + P,
            "test.yaml:2: machine.ram is not a size (use e.g. 4096, 64K, 32M, 2G) (got 'lots')");
        yield return C("RamBelowAPage", "machine:\n  ram: 2K\n" + P,
            "test.yaml:2: machine.ram is smaller than one page (4096 bytes) (got '2K')");
        yield return C("RamNotPageMultiple", "machine:\n  ram: 10000\n" + P,
            "test.yaml:2: machine.ram must be a multiple of the page size (4096 bytes) (got '10000')");
        yield return C("SwapNotPageMultiple", "machine:\n  swap: 6000\n" + P,
            "test.yaml:2: machine.swap must be a multiple of the page size (4096 bytes) (got '6000')");
        yield return C("RamTooBigForX86", "machine:\n  paging: x86\n  ram: 8G\n" + P,
            "test.yaml:3: machine.ram exceeds what x86 paging can address (4G) (got '8G')");
        yield return C("PageSize", "machine:\n  page_size: 8192\n" + P,
            "test.yaml:2: machine.page_size: only 4096-byte pages are supported (got '8192')");
        yield return C("PagingMode", "machine:\n  paging: arm64\n" + P,
            "test.yaml:2: machine.paging must be one of: x86, x86-64, x86-64-la57 (got 'arm64')");
        yield return C("CacheLineNotPow2", "machine:\n  caches:\n    l1d: {size: 32K, ways: 8, line: 48}\n" + P,
            "test.yaml:3: machine.caches.l1d.line must be a power of two (got '48')");
        // 192K / (4 × 64) = 196608 / 256 = 768 sets, not a power of two.
        yield return C("CacheSetsNotPow2", "machine:\n  caches:\n    l2: {size: 192K, ways: 4}\n" + P,
            "test.yaml:3: machine.caches.l2: 196608 bytes / (4 ways x 64-byte lines) = 768 sets; sets must be a power of two (got '192K')");
        // 32768 / (3 × 64) = 170.67: not a whole number of sets.
        yield return C("CacheNotWholeSets", "machine:\n  caches:\n    l1d:\n      ways: 3\n" + P,
            "test.yaml:4: machine.caches.l1d: size 32768 is not a whole number of sets of 3 ways x 64-byte lines (got '3')");
        yield return C("CacheInclusion", "machine:\n  caches:\n    l3: {inclusion: exclusive}\n" + P,
            "test.yaml:3: machine.caches.l3.inclusion must be one of: non-inclusive, inclusive (got 'exclusive')");
        yield return C("CacheWaysZero", "machine:\n  caches:\n    l1i: {ways: 0}\n" + P,
            "test.yaml:3: machine.caches.l1i.ways must be at least 1 (got '0')");
        yield return C("HostWithCaches", "machine:\n  cpu: host\n  caches:\n    l2: {size: 512K}\n" + P,
            "test.yaml:3: machine.caches cannot be combined with cpu: host (the host's caches are read from sysfs) (got 'caches')");
        // 48 / 4 = 12 sets.
        yield return C("TlbSetsNotPow2", "machine:\n  tlb:\n    dtlb: {entries: 48, ways: 4}\n" + P,
            "test.yaml:3: machine.tlb.dtlb: 48 entries / 4 ways = 12 sets; sets must be a power of two (got '48')");
        yield return C("TlbNotWholeSets", "machine:\n  tlb:\n    stlb: {entries: 1536, ways: 10}\n" + P,
            "test.yaml:3: machine.tlb.stlb: 1536 entries is not a whole number of 10-way sets (got '1536')");
        yield return C("NegativeLatency", "machine:\n  latency:\n    l2: -3\n" + P,
            "test.yaml:3: machine.latency.l2 must not be negative (got '-3')");
        yield return C("LatencyNotNumber", "machine:\n  latency:\n    memory: slow\n" + P,
            "test.yaml:3: machine.latency.memory must be a whole number (got 'slow')");
        yield return C("MajorFaultTwice", "machine:\n  latency:\n    major_fault: 1000\n    disk_us: 50\n    cpu_ghz: 3\n" + P,
            "test.yaml:4: machine.latency: give either major_fault (cycles) or disk_us with cpu_ghz, not both (got '50')");
        yield return C("DiskWithoutGhz", "machine:\n  latency:\n    disk_us: 50\n" + P,
            "test.yaml:3: machine.latency: disk_us and cpu_ghz must be given together (got '50')");
        yield return C("GhzZero", "machine:\n  latency:\n    disk_us: 50\n    cpu_ghz: 0\n" + P,
            "test.yaml:4: machine.latency.cpu_ghz must be greater than 0 (got '0')");
        yield return C("QuantumZero", "machine:\n  quantum: 0\n" + P,
            "test.yaml:2: machine.quantum must be at least 1 (got '0')");
        yield return C("Swappiness", "machine:\n  swappiness: 201\n" + P,
            "test.yaml:2: machine.swappiness must be at most 200 (got '201')");
        yield return C("OvercommitMode", "machine:\n  overcommit_memory: 3\n" + P,
            "test.yaml:2: machine.overcommit_memory must be at most 2 (got '3')");
        yield return C("OvercommitRatioAndKbytes", "machine:\n  overcommit_ratio: 60\n  overcommit_kbytes: 1024\n" + P,
            "test.yaml:3: machine.overcommit_kbytes and machine.overcommit_ratio exclude each other (Linux zeroes one when the other is written) (got '1024')");
        yield return C("CapSysAdminNotBool", "processes:\n  - name: p\n    cap_sys_admin: maybe\n    workload: {generator: \"seq:count=1,pages=1\"}\n",
            "test.yaml:3: processes[0].cap_sys_admin must be true or false (or on/off) (got 'maybe')");
        yield return C("PageCluster", "machine:\n  page_cluster: 21\n" + P,
            "test.yaml:2: machine.page_cluster must be at most 20 (got '21')");
        yield return C("SwapRaWindow", "machine:\n  swap_ra_window: 2097152\n" + P,
            "test.yaml:2: machine.swap_ra_window must be at most 1048576 (got '2097152')");
        yield return C("SwapRaPrevOffsetNegative", "machine:\n  swap_ra_prev_offset: -3\n" + P,
            "test.yaml:2: machine.swap_ra_prev_offset must not be negative (got '-3')");
        yield return C("SwapRaHitsNegative", "machine:\n  swap_ra_hits: -1\n" + P,
            "test.yaml:2: machine.swap_ra_hits must not be negative (got '-1')");
        yield return C("SwapReadaheadWord", "machine:\n  swap_readahead: ssd\n" + P,
            "test.yaml:2: machine.swap_readahead must be one of: cluster, vma (got 'ssd')");
        yield return C("MinFreeAboveRam", "machine:\n  ram: 1M\n  min_free_kbytes: 1024\n" + P,
            "test.yaml:3: machine.min_free_kbytes must be less than the RAM size (1024 KiB) (got '1024')");
        yield return C("PcidWord", "machine:\n  pcid: maybe\n" + P,
            "test.yaml:2: machine.pcid must be true or false (or on/off) (got 'maybe')");
        yield return C("ReadaheadRequestsWord", "machine:\n  readahead_requests: 2\n" + P,
            "test.yaml:2: machine.readahead_requests must be true or false (or on/off) (got '2')");
        yield return C("ReadaheadQueueWord", "machine:\n  readahead_queue: 1x\n" + P,
            "test.yaml:2: machine.readahead_queue must be true or false (or on/off) (got '1x')");
        yield return C("PerCpuPagesWord", "machine:\n  per_cpu_pages: many\n" + P,
            "test.yaml:2: machine.per_cpu_pages must be true or false (or on/off) (got 'many')");
        yield return C("SwapRaPlugFlushWord", "machine:\n  swap_ra_plug_flush: sometimes\n" + P,
            "test.yaml:2: machine.swap_ra_plug_flush must be true or false (or on/off) (got 'sometimes')");
        yield return C("NegativeSeed", "machine:\n  seed: -1\n" + P,
            "test.yaml:2: machine.seed must not be negative (got '-1')");
        yield return C("PolicyName", "machine:\n  policy: Two List\n" + P,
            "test.yaml:2: machine.policy.name must be a registry name (lower-case letters, digits, '-', '_', '.') (got 'Two List')");
        yield return C("PolicyWithoutName", "machine:\n  policy:\n    options: {seed: 1}\n" + P,
            "test.yaml:3: machine.policy has no 'name' (got '')");

        yield return C("Empty", "", "test.yaml: the scenario file is empty (it needs at least a 'processes' list) (got '')");
        yield return C("NoProcesses", "machine:\n  ram: 8M\n",
            "test.yaml:1: the scenario has no 'processes' list (got '')");
        yield return C("EmptyProcesses", "processes: []\n",
            "test.yaml:1: processes must list at least one process (got '(a list)')");
        yield return C("DuplicateProcess", "processes:\n  - name: a\n    workload: {generator: \"random:count=1\"}\n  - name: a\n    workload: {generator: \"random:count=1\"}\n",
            "test.yaml:4: duplicate process name 'a' (first defined on line 2) (got 'a')");
        // The children of "s" are named s-1 and s-2; a process called s-2 collides with the second.
        yield return C("ChildNameCollides", "processes:\n  - name: s-2\n    workload: {generator: g}\n  - name: s\n    workload: {generator: g}\n    children: {count: 2}\n",
            "test.yaml:6: duplicate process name 's-2' (first defined on line 2) (got 's-2')");
        yield return C("ProcessWithoutWorkload", "processes:\n  - name: a\n",
            "test.yaml:2: processes[0] has no 'workload' (got 'a')");
        yield return C("ProcessNameSpaces", "processes:\n  - name: my db\n    workload: {generator: g}\n",
            "test.yaml:2: processes[0].name may hold only letters, digits, '-', '_' and '.' (got 'my db')");
        yield return C("NegativeStart", "processes:\n  - name: a\n    start: -5\n    workload: {generator: g}\n",
            "test.yaml:3: processes[0].start must not be negative (got '-5')");
        yield return C("TwoWorkloads", "processes:\n  - name: a\n    workload: {generator: g, trace: {path: t, format: lackey}}\n",
            "test.yaml:3: processes[0].workload must have exactly one of 'trace' or 'generator' (got 'trace, generator')");
        yield return C("EmptyGenerator", "processes:\n  - name: a\n    workload: {generator: \"  \"}\n",
            "test.yaml:3: processes[0].workload.generator must not be empty (got '  ')");
        yield return C("TraceFormat", "processes:\n  - name: a\n    workload:\n      trace: {path: t.out, format: strace}\n",
            "test.yaml:4: processes[0].workload.trace.format must be one of: lackey, pinatrace, pages, binary, champsim, cloudsuite, oracleGeneral, csv, auto (got 'strace')");
        yield return C("TraceWithoutFormat", "processes:\n  - name: a\n    workload:\n      trace: {path: t.out}\n",
            "test.yaml:4: processes[0].workload.trace has no 'format' (lackey, pinatrace, pages or binary) (got '')");
        yield return C("LayoutWord", "processes:\n  - name: a\n    layout: guess\n    workload: {generator: g}\n",
            "test.yaml:3: processes[0].layout must be one of: infer (got 'guess')");
        yield return C("LayoutTwoKinds", "processes:\n  - name: a\n    layout: {exec: {}, maps: m}\n    workload: {generator: g}\n",
            "test.yaml:3: processes[0].layout must have exactly one of 'exec' or 'maps' (or be the word 'infer') (got 'exec, maps')");
        // 3G heap + default text 64K + data 16K + bss 16K + stack 8M + args 4K = 3221225472 + 8491008 = 3229716480.
        yield return C("ExecTooBigForX86", "machine: {paging: x86}\nprocesses:\n  - name: a\n    layout:\n      exec: {heap: 3G}\n    workload: {generator: g}\n",
            "test.yaml:5: processes[0].layout.exec: segments total 3229716480 bytes, more than the 3221225472-byte user address space of x86 paging (got '(a mapping)')");
        yield return C("ChildrenCountZero", "processes:\n  - name: a\n    workload: {generator: g}\n    children: {count: 0}\n",
            "test.yaml:4: processes[0].children.count must be at least 1 (got '0')");
        yield return C("ChildrenWorkloadsTooFew", "processes:\n  - name: a\n    workload: {generator: g}\n    children:\n      count: 3\n      workloads:\n        - {generator: g}\n        - {generator: g}\n",
            "test.yaml:7: processes[0].children.workloads lists 2 workloads but count is 3: give one workload per child (got '(a list)')");
        yield return C("ChildrenWorkloadsNotAList", "processes:\n  - name: a\n    workload: {generator: g}\n    children: {count: 1, workloads: {generator: g}}\n",
            "test.yaml:4: processes[0].children.workloads must be a list (entries starting with '- ') (got '(a mapping)')");
        yield return C("ChildrenWorkloadsBadEntry", "processes:\n  - name: a\n    workload: {generator: g}\n    children:\n      count: 1\n      workloads:\n        - {generator: \"  \"}\n",
            "test.yaml:7: processes[0].children.workloads[0].generator must not be empty (got '  ')");
        yield return C("ChildrenStartDelayNegative", "processes:\n  - name: a\n    workload: {generator: g}\n    children: {count: 1, start_delay: -1}\n",
            "test.yaml:4: processes[0].children.start_delay must not be negative (got '-1')");

        yield return C("CpusZero", "machine:\n  cpus: 0\n" + P,
            "test.yaml:2: machine.cpus must be at least 1 (got '0')");
        yield return C("CpusAbove64", "machine:\n  ram: 8M\n  cpus: 65\n" + P,
            "test.yaml:3: machine.cpus must be at most 64 (got '65')");
        yield return C("CpusNotANumber", "machine:\n  cpus: four\n" + P,
            "test.yaml:2: machine.cpus must be a whole number (got 'four')");
        yield return C("CacheSharedWord", "machine:\n  caches:\n    l3: {size: 3M, shared: sometimes}\n" + P,
            "test.yaml:3: machine.caches.l3.shared must be true or false (or on/off) (got 'sometimes')");
        yield return C("ThreadsEmpty", "processes:\n  - name: a\n    workload: {generator: g}\n    threads: []\n",
            "test.yaml:4: processes[0].threads must list at least one thread (leave it out for a single-threaded process) (got '(a list)')");
        yield return C("ThreadsNotAList", "processes:\n  - name: a\n    workload: {generator: g}\n    threads: {workload: {generator: g}}\n",
            "test.yaml:4: processes[0].threads must be a list (entries starting with '- ') (got '(a mapping)')");
        yield return C("ThreadWithoutWorkload", "processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n      - name: w\n",
            "test.yaml:5: processes[0].threads[0] has no 'workload' (got 'w')");
        // Unnamed, the second thread of a is a-t2.
        yield return C("UnnamedThreadWithoutWorkload", "processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n      - workload: {generator: g}\n      - start: 5\n",
            "test.yaml:6: processes[0].threads[1] has no 'workload' (got 'a-t2')");
        yield return C("ThreadUnknownKey", "processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n      - {workload: {generator: g}, stack: 8M}\n",
            "test.yaml:5: unknown key in processes[0].threads[0] (expected one of: name, start, workload) (got 'stack')");
        yield return C("ThreadTwoWorkloads", "processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n      - workload: {generator: g, trace: {path: t, format: binary}}\n",
            "test.yaml:5: processes[0].threads[0].workload must have exactly one of 'trace' or 'generator' (got 'trace, generator')");
        yield return C("ThreadNameSpaces", "processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n      - {name: \"my thread\", workload: {generator: g}}\n",
            "test.yaml:5: processes[0].threads[0].name may hold only letters, digits, '-', '_' and '.' (got 'my thread')");
        yield return C("DuplicateThreadName", "processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n      - {name: w, workload: {generator: g}}\n      - {name: w, workload: {generator: g}}\n",
            "test.yaml:6: duplicate thread name 'w' (first defined on line 5; threads and processes share one namespace) (got 'w')");
        // A thread may not take its own process's name either.
        yield return C("ThreadNamedLikeItsProcess", "processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n      - {name: a, workload: {generator: g}}\n",
            "test.yaml:5: duplicate thread name 'a' (first defined on line 2; threads and processes share one namespace) (got 'a')");
        // a's unnamed thread is a-t1 (line 5); a later process of that name collides with it.
        yield return C("ProcessNamedLikeADefaultThread", "processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n      - workload: {generator: g}\n  - name: a-t1\n    workload: {generator: g}\n",
            "test.yaml:6: duplicate process name 'a-t1' (first defined on line 5) (got 'a-t1')");
        yield return C("DefaultThreadNameTaken", "processes:\n  - name: b-t1\n    workload: {generator: g}\n  - name: b\n    workload: {generator: g}\n    threads:\n      - workload: {generator: g}\n",
            "test.yaml:7: duplicate thread name 'b-t1' (first defined on line 2; threads and processes share one namespace) (got 'b-t1')");
        yield return C("ThreadStartsBeforeProcess", "processes:\n  - name: a\n    start: 100\n    workload: {generator: g}\n    threads:\n      - {start: 99, workload: {generator: g}}\n",
            "test.yaml:6: processes[0].threads[0].start is before the start of process 'a' (cycle 100); a thread starts with or after its process (got '99')");
        yield return C("ThreadNegativeStart", "processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n      - {start: -1, workload: {generator: g}}\n",
            "test.yaml:5: processes[0].threads[0].start must not be negative (got '-1')");
        yield return C("TimelineUnknownThread", "processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n      - workload: {generator: g}\ntimeline:\n  - {after: 1, process: a-t2, exit: {}}\n",
            "test.yaml:7: timeline refers to unknown process 'a-t2' (got 'a-t2')");
        // 256 extra threads: entries on lines 5..260, the 256th (one too many) on line 260.
        yield return C("TooManyThreads", "processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n"
            + string.Concat(Enumerable.Repeat("      - workload: {generator: g}\n", 256)),
            "test.yaml:260: processes[0].threads lists more than 255 threads (thread ids 1..255; the main thread is 0) (got '256')");

        yield return C("UnknownTimelineProcess", P + "\ntimeline:\n  - at: 5\n    process: ghost\n    exit:\n",
            "test.yaml:6: timeline refers to unknown process 'ghost' (got 'ghost')");
        yield return C("MalformedHex", P + "\ntimeline:\n  - at: 5\n    process: p\n    munmap: {addr: 0x7g00, length: 4K}\n",
            "test.yaml:7: timeline[0].munmap.addr is not an address (use 0x hex such as 0x7f0000000000, or decimal) (got '0x7g00')");
        yield return C("BareHexPrefix", P + "\ntimeline:\n  - at: 5\n    process: p\n    munmap: {addr: 0x, length: 4K}\n",
            "test.yaml:7: timeline[0].munmap.addr is not an address (use 0x hex such as 0x7f0000000000, or decimal) (got '0x')");
        yield return C("UnalignedAddr", P + "\ntimeline:\n  - at: 5\n    process: p\n    mprotect: {addr: 0x1234, length: 4K, prot: r}\n",
            "test.yaml:7: timeline[0].mprotect.addr must be page aligned (a multiple of 4096) (got '0x1234')");
        yield return C("BeyondUserSpaceX86", "machine: {paging: x86}\n" + P + "\ntimeline:\n  - at: 5\n    process: p\n    mmap: {addr: 0xbfff0000, length: 128K}\n",
            "test.yaml:8: timeline[0].mmap.addr: the range ends beyond the user address space of x86 paging (0xc0000000) (got '0xbfff0000')");
        yield return C("BadProt", P + "\ntimeline:\n  - at: 5\n    process: p\n    mmap: {length: 4K, prot: wr}\n",
            "test.yaml:7: timeline[0].mmap.prot must be r, w, x letters in that order (e.g. rw-, r-x, rw) or 'none' (got 'wr')");
        yield return C("ZeroLength", P + "\ntimeline:\n  - at: 5\n    process: p\n    mmap: {length: 0}\n",
            "test.yaml:7: timeline[0].mmap.length must be greater than 0 (got '0')");
        yield return C("FixedWithoutAddr", P + "\ntimeline:\n  - at: 5\n    process: p\n    mmap: {length: 4K, fixed: true}\n",
            "test.yaml:7: timeline[0].mmap: fixed: true needs an 'addr' (got 'fixed')");
        yield return C("AnonymousOffset", P + "\ntimeline:\n  - at: 5\n    process: p\n    mmap: {length: 4K, offset: 4K}\n",
            "test.yaml:7: timeline[0].mmap.offset needs a 'file' or an 'fd' (anonymous mappings have no offset) (got '4K')");
        yield return C("MmapFlags", P + "\ntimeline:\n  - at: 5\n    process: p\n    mmap: {length: 4K, flags: anonymous}\n",
            "test.yaml:7: timeline[0].mmap.flags must be one of: private, shared (got 'anonymous')");
        yield return C("AtAndAfter", P + "\ntimeline:\n  - at: 5\n    after: 7\n    process: p\n    exit:\n",
            "test.yaml:5: timeline[0] must have exactly one of 'at' (cycles) or 'after' (accesses of the process) (got 'at, after')");
        yield return C("TwoOps", P + "\ntimeline:\n  - at: 5\n    process: p\n    exit:\n    brk: {delta: 4K}\n",
            "test.yaml:5: timeline[0] must have exactly one operation: mmap, munmap, mprotect, brk, fork, exit, madvise, fadvise, drop_caches, mremap, mlock, munlock, mlockall, munlockall, open, memfd_create, ftruncate, close, write, read, fallocate, unlink, fsync, fdatasync, zero_fill, pause (got 'brk, exit')");
        yield return C("BrkBoth", P + "\ntimeline:\n  - at: 5\n    process: p\n    brk: {delta: 4K, to: 0x1000}\n",
            "test.yaml:7: timeline[0].brk must have exactly one of 'delta' (bytes, may be negative) or 'to' (new break address) (got 'delta, to')");
        yield return C("ExitWithValue", P + "\ntimeline:\n  - at: 5\n    process: p\n    exit: 3\n",
            "test.yaml:7: timeline[0].exit takes no value (write 'exit:' or 'exit: {}') (got '3')");
        yield return C("PauseWithValue", P + "\ntimeline:\n  - at: 5\n    process: p\n    pause: 3\n",
            "test.yaml:7: timeline[0].pause takes no value (write 'pause:' or 'pause: {}') (got '3')");
        yield return C("ForkDuplicateChild", P + "\ntimeline:\n  - at: 5\n    process: p\n    fork: {child: p}\n",
            "test.yaml:7: duplicate process name 'p' (first defined on line 2) (got 'p')");
        yield return C("ForkWaitNotBool", P + "\ntimeline:\n  - at: 5\n    process: p\n    fork: {child: c, wait: maybe}\n",
            "test.yaml:7: timeline[0].fork.wait must be true or false (or on/off) (got 'maybe')");
        yield return C("ZeroFillUnaligned", P + "\ntimeline:\n  - at: 5\n    process: p\n    zero_fill: {addr: 0x1234, length: 4K}\n",
            "test.yaml:7: timeline[0].zero_fill.addr must be page aligned (a multiple of 4096) (got '0x1234')");
        yield return C("ZeroFillEmpty", P + "\ntimeline:\n  - at: 5\n    process: p\n    zero_fill: {addr: 0x10000000, length: 0}\n",
            "test.yaml:7: timeline[0].zero_fill.length must be at least one byte (got '0')");
        yield return C("ZeroFillUnknownKey", P + "\ntimeline:\n  - at: 5\n    process: p\n    zero_fill: {addr: 0x10000000, length: 4K, value: 0}\n",
            "test.yaml:7: unknown key in timeline[0].zero_fill (expected one of: addr, length) (got 'value')");
        yield return C("WritePieceZero", P + "\ntimeline:\n  - at: 5\n    process: p\n    write: {fd: 3, length: 8M, piece: 0}\n",
            "test.yaml:7: timeline[0].write.piece: a write's piece must be at least one byte (got 0) (got '0')");
        yield return C("TimelineNotList", P + "\ntimeline: {at: 5}\n",
            "test.yaml:4: timeline must be a list (entries starting with '- ') (got '(a mapping)')");
    }

    [TestCaseSource(nameof(Cases))]
    public void ReportsFileLineValueAndProblem(string yaml, string message)
    {
        var e = Assert.Throws<InputException>(() => ScenarioTestFiles.Parse(yaml));
        Assert.That(e!.Message, Is.EqualTo(message));
        Assert.That(e.Origin, Is.EqualTo("test.yaml"));
    }

    [Test]
    public void UnclosedFlowListIsAnInputExceptionAtItsLine()
    {
        // Line 3 opens a flow list that is never closed (YamlDotNet fails inside its scanner here).
        const string yaml = "machine:\n  ram: 8M\n  swap: [1, 2\n  seed: 1\n" + P;
        var e = Assert.Throws<InputException>(() => ScenarioTestFiles.Parse(yaml));
        Assert.That(e!.Message, Is.EqualTo("test.yaml:3: YAML syntax error: the YAML reader stopped here (check brackets, braces and quotes) (got 'swap: [1, 2')"));
    }

    [Test]
    public void UnterminatedQuoteIsAnInputExceptionWhereTheQuoteOpens()
    {
        const string yaml = "description: 'oops\n" + P;
        var e = Assert.Throws<InputException>(() => ScenarioTestFiles.Parse(yaml));
        Assert.That(e!.Line, Is.EqualTo(1));
        Assert.That(e.Value, Is.EqualTo("description: 'oops"));
        Assert.That(e.Problem, Does.StartWith("YAML syntax error: "));
    }

    [Test]
    public void TabIndentationIsReportedOnTheTabbedLine()
    {
        const string yaml = "machine:\n  swap: 0\n\tram: 8M\n" + P;
        var e = Assert.Throws<InputException>(() => ScenarioTestFiles.Parse(yaml));
        Assert.That(e!.Line, Is.EqualTo(3));
        Assert.That(e.Value, Is.EqualTo("ram: 8M"));
        Assert.That(e.Problem, Does.StartWith("YAML syntax error: ").And.Contain("tab"));
    }

    [Test]
    public void UnknownAliasIsAnInputException()
    {
        var e = Assert.Throws<InputException>(() => ScenarioTestFiles.Parse("machine: *nope\n" + P));
        Assert.That(e!.Line, Is.EqualTo(1));
        Assert.That(e.Problem, Does.StartWith("YAML syntax error: "));
    }

    [Test]
    public void SecondDocumentIsRejected()
    {
        var e = Assert.Throws<InputException>(() => ScenarioTestFiles.Parse(P + "\n---\n" + P));
        Assert.That(e!.Message, Does.StartWith("test.yaml:5: a scenario file holds one YAML document"));
    }

    [Test]
    public void MissingFileIsAnInputException()
    {
        string path = Path.Combine(Path.GetTempPath(), "ecsmem-no-such-scenario-" + Guid.NewGuid().ToString("N") + ".yaml");
        var e = Assert.Throws<InputException>(() => ScenarioParser.ParseFile(path));
        Assert.That(e!.Origin, Is.EqualTo(path));
        Assert.That(e.Problem, Does.StartWith("cannot read scenario file"));
    }

    [Test]
    public void OverlappingFixedMappingsAreAccepted()
    {
        // MAP_FIXED replaces what is mapped, so overlapping fixed ranges are legal input.
        var s = ScenarioTestFiles.Parse(P + "\ntimeline:\n" +
            "  - {at: 1, process: p, mmap: {addr: 0x10000000, length: 1M, fixed: true}}\n" +
            "  - {at: 2, process: p, mmap: {addr: 0x10080000, length: 1M, fixed: on}}\n");
        Assert.That(s.Timeline.Select(e => ((MmapOp)e.Op).Address), Is.EqualTo(new ulong?[] { 0x1000_0000, 0x1008_0000 }));
    }
}
