using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using EcsMem.Diagnostics;

namespace EcsMem.Cli;

/// <summary>The <c>"ecsmem"</c> object of every JSON output: which build wrote it (<see cref="BuildInfo"/>).</summary>
public sealed record EcsmemBuild(string Version, string Commit)
{
    public static EcsmemBuild Current { get; } = new(BuildInfo.Version, BuildInfo.Commit);
}

/// <summary>A cache's geometry as Cachegrind's --I1/--D1/--LL options give it.</summary>
public sealed record CacheGeometryJson(long Size, int Assoc, int Line);

/// <summary><c>ecsmem run --cachegrind --json</c> (docs/schemas/cachegrind.schema.json).</summary>
public sealed record CachegrindJson(int Schema, EcsmemBuild Ecsmem, string Mode, string Trace, string TraceFormat,
    IReadOnlyDictionary<string, CacheGeometryJson> Caches, IReadOnlyDictionary<string, long> Events, bool? Partial,
    string? CachegrindOutFile = null);

/// <summary><c>ecsmem gen --json</c> and <c>ecsmem convert --json</c> (docs/schemas/trace-write.schema.json).</summary>
public sealed record TraceWriteJson(int Schema, EcsmemBuild Ecsmem, string Command, string? Workload, string? Input, string? From,
    string Format, string Output, long Accesses);

/// <summary>One line of /proc/PID/maps.</summary>
public sealed record VmaJson(string Start, string End, string Perms, string Offset, string Dev, long Inode, string Path);

/// <summary><c>ecsmem maps --json</c> (docs/schemas/maps.schema.json); status keys keep /proc/PID/status's names.</summary>
public sealed record MapsJson(int Schema, EcsmemBuild Ecsmem, string File, string Paging, IReadOnlyList<VmaJson> Vmas,
    IReadOnlyDictionary<string, string>? Status);

/// <summary>One field of an address: its bits and value.</summary>
public sealed record AddressFieldJson(string Name, int High, int Low, ulong Value, int? Level);

/// <summary><c>ecsmem explain --json</c> (docs/schemas/explain.schema.json).</summary>
public sealed record ExplainJson(int Schema, EcsmemBuild Ecsmem, string Address, string Paging, bool Canonical, bool User,
    IReadOnlyList<AddressFieldJson> Fields, string? Scenario, string? At, int? Pid, IReadOnlyList<string>? Walk);

/// <summary>
/// System.Text.Json source generation for the outputs built as objects (NativeAOT-safe: no reflection). The big
/// streaming outputs (the report, sweeps, events) keep their Utf8JsonWriter code; all follow one contract
/// (<see cref="Systems.Reporting.JsonContract"/>).
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, NewLine = "\n")]
[JsonSerializable(typeof(CachegrindJson))]
[JsonSerializable(typeof(TraceWriteJson))]
[JsonSerializable(typeof(MapsJson))]
[JsonSerializable(typeof(ExplainJson))]
public sealed partial class CliJsonContext : JsonSerializerContext
{
    /// <summary>The object as indented JSON with a final newline.</summary>
    public static string Write<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) =>
        Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(value, info)) + "\n";
}
