using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// A file written under a temporary name in the destination's directory and renamed over the
/// destination only on <see cref="Commit"/>. The rename is atomic on one file system, so readers
/// see either the old file or the complete new one, never a prefix.
/// </summary>
/// <remarks>
/// Nothing but the destination's content is ever replaced:
/// <list type="bullet">
/// <item>a symbolic link is followed (<see cref="FileIdentity.FollowLinks"/>): the temporary file goes next to the
/// link's target and replaces the target, so the link stays a link;</item>
/// <item>a character or block device or a FIFO (<c>/dev/null</c>, <c>/dev/stdout</c>, a named pipe) is written
/// through, as a shell's <c>&gt;</c> does, never replaced by a regular file: the output is assembled in an unlinked
/// temporary file (nothing is left behind whatever happens) and copied into the device on <see cref="Commit"/>,
/// so a failed run writes nothing to it;</item>
/// <item>a directory or a socket is refused with an <see cref="InputException"/>.</item>
/// </list>
/// </remarks>
internal sealed class AtomicFileOutput : IDisposable
{
    private readonly string? _tempPath;
    private readonly string _target;
    private readonly bool _writeThrough;
    private bool _committed;

    public AtomicFileOutput(string path)
    {
        Path = path;
        if (path == StandardOutputName)
        {
            // "-": standard output, written through like a device (assembled first, so a failure writes nothing).
            _target = path;
            _writeThrough = true;
            Stream = CreateScratch(path);
            return;
        }
        string full;
        try
        {
            full = System.IO.Path.GetFullPath(FileIdentity.FollowLinks(path)
                ?? throw new InputException(path, 0, path, "too many levels of symbolic links"));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new InputException(path, 0, path, "invalid output path");
        }
        _target = full;
        FileKind kind = FileIdentity.KindOf(full);
        switch (kind)
        {
            case FileKind.Directory:
                throw new InputException(path, 0, path, "output is a directory, not a file");
            case FileKind.Socket or FileKind.Other:
                throw new InputException(path, 0, path, "output is a socket or other special file that cannot be written");
            case FileKind.CharDevice or FileKind.BlockDevice or FileKind.Fifo:
                _writeThrough = true;
                Stream = CreateScratch(path);
                return;
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

    /// <summary>The output name that means standard output (<c>gen --out -</c>, <c>convert --out -</c>).</summary>
    public const string StandardOutputName = "-";

    /// <summary>Destination path as given.</summary>
    public string Path { get; }

    /// <summary>Whether the destination is a device or FIFO, written through on <see cref="Commit"/> rather than replaced.</summary>
    public bool WritesThrough => _writeThrough;

    /// <summary>The temporary file, seekable so headers can be patched.</summary>
    public FileStream Stream { get; }

    public void Commit()
    {
        if (_committed) return;
        Stream.Flush(flushToDisk: false);
        if (_writeThrough)
        {
            try
            {
                Stream.Position = 0;
                // FileMode.Open: a device or FIFO is opened as it is (no create, no truncate), like O_WRONLY.
                using var device = _target == StandardOutputName
                    ? Console.OpenStandardOutput()
                    : new FileStream(_target, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1 << 16);
                Stream.CopyTo(device);
                device.Flush();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InputException(Path, 0, Path, "cannot write to the output device: " + e.Message);
            }
            finally
            {
                Stream.Dispose();
            }
            _committed = true;
            return;
        }
        Stream.Dispose();
        try
        {
            File.Move(_tempPath!, _target, overwrite: true);
            TemporaryFiles.Forget(_tempPath!);
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
        if (!_writeThrough) TryDelete();
    }

    /// <summary>A scratch file in the temp folder, unlinked at once on Unix so it vanishes with the stream.</summary>
    private static FileStream CreateScratch(string path)
    {
        string scratch = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $".ecsmem.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None;
            var s = new FileStream(scratch, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, options);
            if (!OperatingSystem.IsWindows()) File.Delete(scratch);
            return s;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(path, 0, path, "cannot create a temporary file for the output: " + e.Message);
        }
    }

    private void TryDelete()
    {
        try
        {
            File.Delete(_tempPath!);
            TemporaryFiles.Forget(_tempPath!);
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
