using System.Text;
using EcsMem.Traces;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// Writes an output file (report, timeline, plot) under a temporary name in the destination's folder and
/// renames it into place only when complete, so an error or an interrupted run never leaves a half-written
/// file. A thin public face over the traces' atomic file output.
/// </summary>
public static class ReportOutputFile
{
    /// <summary>Writes <paramref name="text"/> as UTF-8 (no BOM) to <paramref name="path"/> atomically.</summary>
    public static void WriteText(string path, string text) =>
        Write(path, s =>
        {
            byte[] bytes = new UTF8Encoding(false).GetBytes(text);
            s.Write(bytes, 0, bytes.Length);
        });

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, s => s.Write(copy, 0, copy.Length));
    }

    /// <summary>Lets <paramref name="write"/> fill the temporary file, then renames it to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        using var output = new AtomicFileOutput(path);
        write(output.Stream);
        output.Commit();
    }
}
