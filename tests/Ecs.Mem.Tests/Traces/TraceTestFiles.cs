using System.IO.Compression;
using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

/// <summary>A temporary directory per test, with helpers to write plain, gzip and zstd files.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ecsmem-traces-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Every file in the directory (to check no temporary file was left behind).</summary>
    public string[] Names() => Directory.GetFiles(Path).Select(System.IO.Path.GetFileName).OfType<string>().Order().ToArray();

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

public enum Packing { Plain, Gzip, Zstd }

internal static class TraceTestFiles
{
    public static string Write(string path, byte[] content, Packing packing)
    {
        using var file = System.IO.File.Create(path);
        switch (packing)
        {
            case Packing.Gzip:
                using (var gz = new GZipStream(file, CompressionLevel.Fastest)) gz.Write(content);
                break;
            case Packing.Zstd:
                using (var zs = new ZstdSharp.CompressionStream(file, 3)) zs.Write(content);
                break;
            default:
                file.Write(content);
                break;
        }
        return path;
    }

    public static string Write(string path, string text, Packing packing = Packing.Plain) =>
        Write(path, System.Text.Encoding.UTF8.GetBytes(text), packing);

    /// <summary>Reads a whole trace in small batches (so batch boundaries are exercised).</summary>
    public static List<MemoryAccess> ReadAll(ITraceReader reader, int batch = 7)
    {
        var result = new List<MemoryAccess>();
        var buffer = new MemoryAccess[batch];
        int n;
        while ((n = reader.Read(buffer)) > 0)
            result.AddRange(buffer.AsSpan(0, n).ToArray());
        return result;
    }

    public static List<MemoryAccess> ReadFile(string format, string path)
    {
        using var r = TraceFormats.OpenReader(format, path);
        return ReadAll(r, 1000);
    }
}
