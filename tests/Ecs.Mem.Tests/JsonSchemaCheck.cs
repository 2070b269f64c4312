using System.Text.Json;
using System.Text.RegularExpressions;

namespace EcsMem.Tests;

/// <summary>
/// A validator for the part of JSON Schema 2020-12 that docs/schemas/*.json and docs/events.schema.json use:
/// type, enum, const, pattern, minimum, maximum, required, properties, additionalProperties (false or a schema),
/// propertyNames, items, allOf, if/then/else and local $ref (#/$defs/NAME). Any other keyword in a schema is an
/// error, so a schema cannot silently rely on something this does not check.
/// </summary>
public static class JsonSchemaCheck
{
    private static readonly HashSet<string> Known =
    [
        "$schema", "$id", "$defs", "title", "description", "type", "enum", "const", "pattern", "minimum", "maximum",
        "required", "properties", "additionalProperties", "propertyNames", "items", "allOf", "if", "then", "else", "$ref",
    ];

    /// <summary>Every way <paramref name="value"/> breaks <paramref name="schema"/> (empty: it conforms).</summary>
    public static List<string> Problems(JsonElement schema, JsonElement value)
    {
        var problems = new List<string>();
        Validate(schema, schema, value, "$", problems);
        return problems;
    }

    /// <summary>The schema file docs/schemas/NAME (or docs/NAME), parsed.</summary>
    public static JsonElement Load(string name)
    {
        string docs = Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "..", "docs");
        string path = File.Exists(Path.Combine(docs, "schemas", name)) ? Path.Combine(docs, "schemas", name) : Path.Combine(docs, name);
        using var d = JsonDocument.Parse(File.ReadAllText(path));
        return d.RootElement.Clone();
    }

    private static void Validate(JsonElement root, JsonElement schema, JsonElement v, string at, List<string> problems)
    {
        if (schema.ValueKind == JsonValueKind.True)
            return;
        if (schema.ValueKind == JsonValueKind.False)
        {
            problems.Add($"{at}: not allowed");
            return;
        }
        foreach (var k in schema.EnumerateObject())
        {
            if (!Known.Contains(k.Name))
                throw new NotSupportedException($"schema keyword {k.Name} at {at} is not supported by this validator");
        }
        if (schema.TryGetProperty("$ref", out var r))
        {
            string reference = r.GetString()!;
            if (!reference.StartsWith("#/$defs/", StringComparison.Ordinal))
                throw new NotSupportedException($"only local $ref: {reference}");
            Validate(root, root.GetProperty("$defs").GetProperty(reference["#/$defs/".Length..]), v, at, problems);
        }
        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToArray() : [type.GetString()!];
            if (!types.Any(t => IsType(v, t)))
                problems.Add($"{at}: {v.ValueKind} is not {string.Join("|", types)}");
        }
        if (schema.TryGetProperty("enum", out var en) && !en.EnumerateArray().Any(x => JsonElement.DeepEquals(x, v)))
            problems.Add($"{at}: {v} is not one of {en}");
        if (schema.TryGetProperty("const", out var c) && !JsonElement.DeepEquals(c, v))
            problems.Add($"{at}: {v} is not {c}");
        if (v.ValueKind == JsonValueKind.String && schema.TryGetProperty("pattern", out var pat) && !Regex.IsMatch(v.GetString()!, pat.GetString()!))
            problems.Add($"{at}: '{v.GetString()}' does not match {pat}");
        if (v.ValueKind == JsonValueKind.Number && schema.TryGetProperty("minimum", out var min) && v.GetDouble() < min.GetDouble())
            problems.Add($"{at}: {v} < {min}");
        if (v.ValueKind == JsonValueKind.Number && schema.TryGetProperty("maximum", out var max) && v.GetDouble() > max.GetDouble())
            problems.Add($"{at}: {v} > {max}");
        if (v.ValueKind == JsonValueKind.Object)
        {
            if (schema.TryGetProperty("required", out var req))
            {
                foreach (var name in req.EnumerateArray())
                {
                    if (!v.TryGetProperty(name.GetString()!, out _))
                        problems.Add($"{at}: missing {name}");
                }
            }
            schema.TryGetProperty("additionalProperties", out var ap);
            schema.TryGetProperty("properties", out var props);
            schema.TryGetProperty("propertyNames", out var names);
            foreach (var p in v.EnumerateObject())
            {
                // propertyNames: only "pattern" is used (a name is a string).
                if (names.ValueKind == JsonValueKind.Object && names.TryGetProperty("pattern", out var np) && !Regex.IsMatch(p.Name, np.GetString()!))
                    problems.Add($"{at}: key '{p.Name}' does not match {np}");
                if (props.ValueKind == JsonValueKind.Object && props.TryGetProperty(p.Name, out var ps))
                    Validate(root, ps, p.Value, $"{at}.{p.Name}", problems);
                else if (ap.ValueKind == JsonValueKind.False)
                    problems.Add($"{at}: unknown key {p.Name}");
                else if (ap.ValueKind == JsonValueKind.Object)
                    Validate(root, ap, p.Value, $"{at}.{p.Name}", problems);
            }
        }
        if (v.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            int i = 0;
            foreach (var e in v.EnumerateArray())
                Validate(root, items, e, $"{at}[{i++}]", problems);
        }
        if (schema.TryGetProperty("allOf", out var all))
        {
            foreach (var s in all.EnumerateArray())
                Validate(root, s, v, at, problems);
        }
        if (schema.TryGetProperty("if", out var cond))
        {
            var trial = new List<string>();
            Validate(root, cond, v, at, trial);
            if (trial.Count == 0 && schema.TryGetProperty("then", out var then))
                Validate(root, then, v, at, problems);
            else if (trial.Count > 0 && schema.TryGetProperty("else", out var otherwise))
                Validate(root, otherwise, v, at, problems);
        }
    }

    private static bool IsType(JsonElement v, string t) => t switch
    {
        "object" => v.ValueKind == JsonValueKind.Object,
        "string" => v.ValueKind == JsonValueKind.String,
        "integer" => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out _) || v.ValueKind == JsonValueKind.Number && v.TryGetUInt64(out _),
        "number" => v.ValueKind == JsonValueKind.Number,
        "boolean" => v.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => v.ValueKind == JsonValueKind.Null,
        "array" => v.ValueKind == JsonValueKind.Array,
        _ => throw new NotSupportedException("type " + t),
    };
}
