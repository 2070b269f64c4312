namespace EcsMem.Traces;

/// <summary>
/// The temporary files of outputs still being written (<see cref="AtomicFileOutput"/>), so a process that must
/// end at once (a second Ctrl-C or SIGTERM) can delete them first: an interrupted command leaves every output
/// complete or absent, never a hidden <c>.NAME.PID.tmp</c>. After <see cref="DeleteAll"/> no new temporary file
/// can be created.
/// </summary>
public static class TemporaryFiles
{
    private static readonly object Gate = new();
    private static readonly HashSet<string> Live = new(StringComparer.Ordinal);
    private static bool _closed;

    /// <summary>Temporary files currently registered (for tests and diagnostics).</summary>
    public static int Count
    {
        get
        {
            lock (Gate)
            {
                return Live.Count;
            }
        }
    }

    /// <summary>
    /// Creates the temporary file <paramref name="path"/> with <paramref name="create"/> and registers it, both under
    /// the registry's lock, so <see cref="DeleteAll"/> sees either no file or a registered one.
    /// </summary>
    internal static T Create<T>(string path, Func<string, T> create)
    {
        lock (Gate)
        {
            if (_closed)
                throw new OperationCanceledException("the process is ending: no new output file is started");
            T result = create(path);
            Live.Add(path);
            return result;
        }
    }

    /// <summary>The temporary file was renamed into place or deleted: nothing to clean up any more.</summary>
    internal static void Forget(string path)
    {
        lock (Gate)
        {
            Live.Remove(path);
        }
    }

    /// <summary>
    /// Deletes every registered temporary file (best effort) and refuses new ones: called just before the process
    /// ends without finishing its outputs. Returns how many files were deleted.
    /// </summary>
    public static int DeleteAll()
    {
        lock (Gate)
        {
            _closed = true;
            int deleted = 0;
            foreach (string path in Live)
            {
                try
                {
                    File.Delete(path);
                    deleted++;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Best effort: the process is ending; the name still marks it as a leftover.
                }
            }

            Live.Clear();
            return deleted;
        }
    }
}
