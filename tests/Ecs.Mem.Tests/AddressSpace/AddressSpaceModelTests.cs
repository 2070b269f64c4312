using EcsMem.Components;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// Random mmap/munmap/mprotect/brk sequences checked after every step against a page-granular reference
/// model (a dictionary page -> rwx bits, file, file page, kind) that implements the Linux rules directly,
/// page by page. The file page checks vm_pgoff bookkeeping through splits and merges (anonymous pages
/// must carry address >> 12).
/// </summary>
public class AddressSpaceModelTests
{
    private const ulong Page = 0x1000;
    private const ulong Window1 = 0x1000_0000;
    private const ulong HeapStart = 0x2000_0000;
    private const int WindowPages = 64;

    [TestCase(1UL)]
    [TestCase(2UL)]
    [TestCase(3UL)]
    [TestCase(20261124UL)]
    public void VmaSetDescribesExactlyTheModelsPages(ulong seed)
    {
        var rng = new SplitMix64(seed);
        var mm = new Mm(1, PagingMode.X86_64, new FileTable());
        mm.Struct.StartBrk = mm.Struct.Brk = HeapStart;
        ulong mmapTop = mm.Struct.MmapBase;
        var files = mm.Files;
        int[] fileIds = { files.Intern("/lib/a.so", 8, 1, 100), files.Intern("/lib/b.so", 8, 1, 101) };
        var model = new Dictionary<ulong, PageState>();
        ulong modelBrk = HeapStart;

        for (int step = 0; step < 1500; step++)
        {
            // Ranges fall in a plain window, in the heap window, or just below mmap_base.
            ulong window = rng.Below(5) switch
            {
                0 or 1 => Window1,
                2 or 3 => HeapStart,
                _ => mmapTop - (WindowPages * Page),
            };
            ulong start = window + ((ulong)rng.Below(WindowPages) * Page);
            ulong len = (ulong)(1 + rng.Below(8)) * Page;
            var prot = (Prot)rng.Below(8);
            string what;
            switch (rng.Below(5))
            {
                case 0:
                    {
                        bool file = rng.Below(2) == 0;
                        int fid = file ? fileIds[rng.Below(2)] : -1;
                        ulong pgoff = file ? (ulong)rng.Below(16) : 0;
                        what = $"mmap fixed {start:x}+{len:x} {prot} file {fid} pgoff {pgoff}";
                        MapFlags flags = MapFlags.Private | MapFlags.Fixed | (file ? MapFlags.None : MapFlags.Anonymous);
                        long r = mm.DoMmap(start, len, prot, flags, fid, pgoff);
                        Assert.That(r, Is.EqualTo((long)start), what);
                        for (ulong p = start; p < start + len; p += Page)
                        {
                            ulong filePage = file ? pgoff + ((p - start) / Page) : p / Page;
                            model[p] = new PageState((byte)prot, fid, filePage, file ? VmaKind.File : VmaKind.Anonymous);
                        }

                        break;
                    }

                case 1:
                    {
                        what = $"munmap {start:x}+{len:x}";
                        Assert.That(mm.DoMunmap(start, len), Is.Zero, what);
                        for (ulong p = start; p < start + len; p += Page)
                        {
                            model.Remove(p);
                        }

                        break;
                    }

                case 2:
                    {
                        what = $"mprotect {start:x}+{len:x} {prot}";
                        long expected = 0;
                        for (ulong p = start; p < start + len; p += Page)
                        {
                            if (!model.TryGetValue(p, out PageState old))
                            {
                                expected = -Errno.ENOMEM; // stops at the first hole; pages before it changed
                                break;
                            }

                            model[p] = old with { Prot = (byte)prot };
                        }

                        Assert.That(mm.DoMprotect(start, len, prot), Is.EqualTo(expected), what);
                        break;
                    }

                case 3:
                    {
                        ulong req = HeapStart - Page + ((ulong)rng.Below(WindowPages + 8) * Page) + (ulong)rng.Below(2) * 0x123;
                        what = $"brk {req:x}";
                        modelBrk = ModelBrk(model, modelBrk, req);
                        Assert.That(mm.DoBrk(req), Is.EqualTo(modelBrk), what);
                        break;
                    }

                default:
                    {
                        len = (ulong)(1 + rng.Below(4)) * Page;
                        what = $"mmap {len:x} {prot}";
                        long r = mm.DoMmap(0, len, prot, MapFlags.Private | MapFlags.Anonymous, -1, 0);
                        Assert.That(r, Is.GreaterThan(0L), what);
                        ulong a = (ulong)r;
                        Assert.That(a + len, Is.LessThanOrEqualTo(mmapTop), what);
                        for (ulong p = a; p < a + len; p += Page)
                        {
                            Assert.That(model.ContainsKey(p), Is.False, $"{what}: placed over mapped page {p:x}");
                            model[p] = new PageState((byte)prot, -1, p / Page, VmaKind.Anonymous);
                        }

                        break;
                    }
            }

            Check(mm, model, $"seed {seed} step {step}: {what}");
            Assert.That(mm.Struct.Brk, Is.EqualTo(modelBrk));
        }
    }

    /// <summary>sys_brk, page by page: refuse below start_brk or when growth would reach a mapped page or the page after.</summary>
    private readonly record struct PageState(byte Prot, int File, ulong FilePage, VmaKind Kind);

    private static ulong ModelBrk(Dictionary<ulong, PageState> model, ulong brk, ulong req)
    {
        if (req < HeapStart)
        {
            return brk;
        }

        ulong newA = Mm.PageAlign(req), oldA = Mm.PageAlign(brk);
        if (newA == oldA)
        {
            return req;
        }

        if (req <= brk)
        {
            for (ulong p = newA; p < oldA; p += Page)
            {
                model.Remove(p);
            }

            return req;
        }

        for (ulong p = oldA; p <= newA; p += Page)
        {
            if (model.ContainsKey(p))
            {
                return brk;
            }
        }

        for (ulong p = oldA; p < newA; p += Page)
        {
            model[p] = new PageState((byte)(Prot.Read | Prot.Write), -1, p / Page, VmaKind.Heap);
        }

        return req;
    }

    private static void Check(Mm mm, Dictionary<ulong, PageState> model, string context)
    {
        var seen = new Dictionary<ulong, PageState>();
        ulong prevEnd = 0;
        foreach (Vma v in mm.Vmas)
        {
            Assert.That(v.Start, Is.GreaterThanOrEqualTo(prevEnd), $"{context}: sorted, disjoint");
            prevEnd = v.End;
            for (ulong p = v.Start; p < v.End; p += Page)
            {
                seen[p] = new PageState((byte)(v.Flags & VmFlags.AccessMask), v.FileId, v.PgOff + ((p - v.Start) / Page), v.Kind);
            }
        }

        if (seen.Count != model.Count || seen.Any(kv => !model.TryGetValue(kv.Key, out PageState m) || m != kv.Value))
        {
            string diff = string.Join(", ", seen.Where(kv => !model.TryGetValue(kv.Key, out PageState m) || m != kv.Value).Select(kv => $"vma {kv.Key:x}={kv.Value}")
                .Concat(model.Where(kv => !seen.ContainsKey(kv.Key)).Select(kv => $"model-only {kv.Key:x}={kv.Value}")).Take(10));
            Assert.Fail($"{context}: VMA pages differ from the model: {diff}");
        }
        Assert.That(mm.HasMergeableNeighbours(out int at), Is.False, $"{context}: VMAs {at} and {at + 1} should have merged");
        Assert.That(mm.Struct.MapCount, Is.EqualTo(mm.Vmas.Count), context);
        Assert.That(mm.Struct.TotalVm, Is.EqualTo((ulong)model.Count), context);
    }
}
