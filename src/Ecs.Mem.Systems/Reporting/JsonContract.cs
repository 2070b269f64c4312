using System.Text.Json;
using EcsMem.Diagnostics;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// What every JSON output of ecsmem starts with (docs/cli.md, "JSON contract"): <c>"schema"</c>, the version of
/// that output's layout (its file in docs/schemas/), and <c>"ecsmem": {"version", "commit"}</c>, which build
/// wrote it. Keys are snake_case; the only exceptions are names copied from Linux files (/proc/meminfo,
/// /proc/PID/status and smaps fields, vmstat counters) and map keys that are data (cache names, scenario paths).
/// </summary>
public static class JsonContract
{
    /// <summary>Writes <c>"schema": N</c> and the <c>"ecsmem"</c> object into the open object.</summary>
    public static void WriteHeader(Utf8JsonWriter w, int schema)
    {
        w.WriteNumber("schema", schema);
        w.WriteStartObject("ecsmem");
        w.WriteString("version", BuildInfo.Version);
        w.WriteString("commit", BuildInfo.Commit);
        w.WriteEndObject();
    }
}
