namespace EcsMem.Tests.Kernel;

/// <summary>
/// <see cref="PageCache.Deleted"/>, the oracle's stand-in for the mm_filemap_delete_from_page_cache tracepoint: called
/// once per page <see cref="PageCache.Delete"/> takes out, with the page's file, index and frame, whether it leaves a
/// shadow or not; never for insertions. Driven directly, the expected calls are the deletions made.
/// </summary>
public class PageCacheDeletedHookTests
{
    [Test]
    public void Each_deletion_is_reported_with_its_file_index_and_frame()
    {
        var pc = new PageCache();
        var calls = new List<(int File, long Index, int Pfn)>();
        pc.Deleted = (f, i, p) => calls.Add((f, i, p));
        pc.Add(3, 10, 100);
        pc.Add(3, 11, 101);
        pc.Add(4, 10, 200);
        Assert.That(calls, Is.Empty, "insertions are not deletions");
        pc.Delete(3, 11, shadow: 7);
        pc.Delete(4, 10);
        Assert.That(calls, Is.EqualTo(new[] { (3, 11L, 101), (4, 10L, 200) }));
        Assert.That(pc.Find(3, 10), Is.EqualTo(100), "the page not deleted stays");
    }

    [Test]
    public void Without_a_hook_deletion_works_as_before()
    {
        var pc = new PageCache();
        pc.Add(3, 10, 100);
        pc.Delete(3, 10);
        Assert.That(pc.Find(3, 10), Is.EqualTo(-1));
        Assert.That(pc.Count, Is.Zero);
    }
}
