using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// A file written under a temporary name in the destination's directory and renamed over the
/// destination only on <see cref="Commit"/>. The rename is atomic on one file system, so readers
/// see either the old file or the complete new one, never a prefix.
/// </summary>
internal sealed class AtomicFileOutput : IDisposable
{
    private readonly string _tempPath;
    private bool _committed;

    public AtomicFileOutput(string path)
    {
        Path = path;
        string full;
        try
        {
            full = System.IO.Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new InputException(path, 0, path, "invalid output path");
        }
        string dir = System.IO.Path.GetDirectoryName(full) ?? ".";
        // The process id keeps two concurrent writers to the same destination from sharing a temp file.
        _tempPath = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            // Registered with the file's creation, so an interrupt that ends the process at once deletes it.
            Stream = TemporaryFiles.Create(_tempPath, p => new FileStream(p, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string problem = e is DirectoryNotFoundException ? "output directory does not exist" : "cannot create output file: " + e.Message;
            throw new InputException(path, 0, path, problem);
        }
    }

    /// <summary>Destination path as given.</summary>
    public string Path { get; }

    /// <summary>The temporary file, seekable so headers can be patched.</summary>
    public FileStream Stream { get; }

    public void Commit()
    {
        if (_committed) return;
        Stream.Flush(flushToDisk: false);
        Stream.Dispose();
        try
        {
            File.Move(_tempPath, Path, overwrite: true);
            TemporaryFiles.Forget(_tempPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete();
            throw new InputException(Path, 0, Path, "cannot replace output file: " + e.Message);
        }
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        Stream.Dispose();
        TryDelete();
    }

    private void TryDelete()
    {
        try
        {
            File.Delete(_tempPath);
            TemporaryFiles.Forget(_tempPath);
        }
        catch (IOException)
        {
            // Best effort: the temp name starts with '.' and ends in .tmp, so a leftover is recognisable.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
