using EcsMem.Traces;

namespace EcsMem.Perf;

/// <summary>
/// The end-to-end benchmarks' workload: a seeded program-like access stream with realistic locality, written
/// once per size and format with the traces area's writers. Per step, two instruction fetches and one data
/// access (so two thirds of the records are fetches, about what Valgrind Lackey shows for compiled code):
/// <list type="bullet">
/// <item>fetches: 4-byte instructions walking a 128-byte hot loop body; every 32 laps the loop calls one of 16
/// functions (zipf-chosen, 3 KiB apart in a 64 KiB text segment at 0x400000) for 128 instructions;</item>
/// <item>55% of data accesses: an array sweep, 8-byte elements over 2 MiB at 0x10000000 (25% stores);</item>
/// <item>25%: zipf(0.9) over the 1024 pages of a 4 MiB heap at 0x10200000, random 8-byte slot (30% modify);</item>
/// <item>15%: the stack, within 256 bytes of a frame pointer that wanders over 16 KiB below 0x7fff0000 (50% stores);</item>
/// <item>5%: a copy stream writing 8-byte words over 1 MiB at 0x10600000.</item>
/// </list>
/// Footprint ≈ 7.1 MiB (1,812 pages): run in 6 MiB of RAM, the zipf tail and the sweeps cause steady reclaim.
/// </summary>
public static class PerfWorkload
{
    private const ulong Text = 0x400000, ArrayBase = 0x1000_0000, HeapBase = 0x1020_0000, CopyBase = 0x1060_0000, StackTop = 0x7fff_0000;
    private const ulong ArrayBytes = 2 << 20, HeapPages = 1024, CopyBytes = 1 << 20, StackBytes = 16 << 10;

    /// <summary>Bump when the generated stream changes.</summary>
    public const int Version = 1;

    /// <summary>RAM the benchmarks give the machine: less than the footprint, so reclaim runs.</summary>
    public const long RamBytes = 6L << 20;

    /// <summary>Writes <paramref name="count"/> accesses to <paramref name="path"/> in <paramref name="format"/> (unless already there).</summary>
    public static string Ensure(string format, long count)
    {
        string dir = Path.Combine(Path.GetTempPath(), "ecsmem-perf");
        Directory.CreateDirectory(dir);
        // The version tag changes whenever the generator does, so a stale file from an older build is never reused.
        string path = Path.Combine(dir, $"mixed-v{Version}-{count}.{format}");
        if (File.Exists(path))
            return path; // writers commit atomically, so an existing file is complete
        using ITraceWriter writer = TraceFormats.CreateWriter(format, path);
        var gen = new Generator(2026);
        var buffer = new MemoryAccess[1 << 16];
        for (long done = 0; done < count;)
        {
            int n = (int)Math.Min(buffer.Length, count - done);
            gen.Fill(buffer.AsSpan(0, n));
            writer.Write(buffer.AsSpan(0, n));
            done += n;
        }
        writer.Complete();
        return path;
    }

    /// <summary>The generator's state; <see cref="Fill"/> continues the stream.</summary>
    public struct Generator(ulong seed)
    {
        private ulong _rng = seed;
        private ulong _pc = Text, _loopStart = Text, _callReturn;
        private int _phase, _stepsInLoop, _inCall;
        private ulong _array, _copy, _frame = StackTop - 1024;
        private static readonly double[] FunctionCdf = Cdf(16, 1.0);
        private static readonly double[] HeapCdf = Cdf((int)HeapPages, 0.9);

        public void Fill(Span<MemoryAccess> output)
        {
            for (int i = 0; i < output.Length; i++)
            {
                if (_phase < 2)
                {
                    output[i] = new MemoryAccess(NextPc(), 0, 4, AccessKind.Instr);
                    _phase++;
                    continue;
                }
                _phase = 0;
                output[i] = NextData();
            }
        }

        private ulong NextPc()
        {
            ulong pc = _pc;
            _pc += 4;
            if (_inCall > 0)
            {
                if (--_inCall == 0) _pc = _callReturn;
            }
            else if (_pc >= _loopStart + 128)
            {
                _pc = _loopStart;
                if (++_stepsInLoop == 32)
                {
                    // A call: 128 instructions into a zipf-chosen 1 KiB function, then back to the loop.
                    _stepsInLoop = 0;
                    _callReturn = _loopStart;
                    _pc = Text + 4096 + (ulong)Draw(FunctionCdf) * 1024 * 3;
                    _inCall = 128;
                }
            }
            return pc;
        }

        private MemoryAccess NextData()
        {
            ulong r = Next();
            int pick = (int)(r % 100);
            bool coin30 = (r >> 8) % 10 < 3;
            if (pick < 55)
            {
                ulong a = ArrayBase + _array;
                _array = (_array + 8) % ArrayBytes;
                return new MemoryAccess(a, 0, 8, (r >> 16) % 4 == 0 ? AccessKind.Store : AccessKind.Load);
            }
            if (pick < 80)
            {
                ulong page = (ulong)Draw(HeapCdf);
                ulong a = HeapBase + (page << 12) + ((r >> 20) % 512) * 8;
                return new MemoryAccess(a, 0, 8, coin30 ? AccessKind.Modify : AccessKind.Load);
            }
            if (pick < 95)
            {
                if ((r >> 32) % 64 == 0)
                    _frame = StackTop - StackBytes + 512 + ((r >> 40) % (StackBytes - 1024) & ~15UL);
                ulong a = _frame - 256 + ((r >> 24) % 64) * 8;
                return new MemoryAccess(a, 0, 8, (r >> 48) % 2 == 0 ? AccessKind.Store : AccessKind.Load);
            }
            ulong c = CopyBase + _copy;
            _copy = (_copy + 8) % CopyBytes;
            return new MemoryAccess(c, 0, 8, AccessKind.Store);
        }

        private int Draw(double[] cdf)
        {
            double u = (Next() >> 11) * (1.0 / (1UL << 53)) * cdf[^1];
            int lo = 0, hi = cdf.Length - 1;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (cdf[mid] <= u) lo = mid + 1; else hi = mid;
            }
            return lo;
        }

        private ulong Next()
        {
            ulong z = _rng += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        private static double[] Cdf(int n, double alpha)
        {
            var cdf = new double[n];
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += 1.0 / Math.Pow(i + 1, alpha);
                cdf[i] = sum;
            }
            return cdf;
        }
    }
}
