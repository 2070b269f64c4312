using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// The checks every command makes on its output paths before it reads or simulates anything, so a bad output
/// costs no work and never destroys an input: each output must be writable where it points (an existing
/// directory, not a directory itself, not a socket; devices and FIFOs are fine, <see cref="AtomicFileOutput"/>
/// writes them through), must not be the same file as any input (compared by device and inode, so symbolic
/// links, <c>..</c> and hard links are all seen through, or by real path when there is no inode) and no two
/// outputs may be the same file. Violations are <see cref="InputException"/>s (exit 2) naming both paths.
/// </summary>
public static class OutputPaths
{
    /// <summary>Checks <paramref name="outputs"/> (option, path) against each other and against <paramref name="inputs"/> (what, path).</summary>
    public static void Check(IEnumerable<(string Option, string Path)> outputs, IEnumerable<(string What, string Path)> inputs)
    {
        var outs = outputs.ToList();
        var ins = inputs.ToList();
        for (int i = 0; i < outs.Count; i++)
        {
            (string option, string path) = outs[i];
            if (path == AtomicFileOutput.StandardOutputName)
                continue; // standard output: nothing on disk to check or to confuse with an input
            CheckWritable(option, path);
            foreach ((string what, string input) in ins)
            {
                if (FileIdentity.Same(path, input))
                    throw new InputException("command line", 0, path,
                        $"{option} '{path}' is the same file as the {what} '{input}': refusing to overwrite an input");
            }
            for (int j = 0; j < i; j++)
            {
                if (FileIdentity.Same(path, outs[j].Path))
                    throw new InputException("command line", 0, path,
                        $"{option} '{path}' and {outs[j].Option} '{outs[j].Path}' are the same file: give each output its own file");
            }
        }
    }

    /// <summary>The output's own checks: a valid path whose (link-followed) destination can be a file.</summary>
    public static void CheckWritable(string option, string path)
    {
        string? followed = FileIdentity.FollowLinks(path);
        if (followed is null)
            throw new InputException("command line", 0, path, $"{option}: too many levels of symbolic links");
        string full;
        try
        {
            full = Path.GetFullPath(followed);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new InputException("command line", 0, path, $"{option}: invalid output path");
        }
        switch (FileIdentity.KindOf(full))
        {
            case FileKind.Directory:
                throw new InputException("command line", 0, path, $"{option}: is a directory, not a file");
            case FileKind.Socket or FileKind.Other:
                throw new InputException("command line", 0, path, $"{option}: is a socket or other special file that cannot be written");
            case FileKind.CharDevice or FileKind.BlockDevice or FileKind.Fifo:
                return; // written through, never replaced
        }
        string? dir = Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir))
            throw new InputException("command line", 0, path, $"{option}: output directory does not exist");
    }
}
