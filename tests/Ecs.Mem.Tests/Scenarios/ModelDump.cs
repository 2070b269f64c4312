using System.Collections;
using System.Reflection;
using System.Text;

namespace EcsMem.Tests.Scenarios;

/// <summary>
/// A canonical text form of a scenario model written by reflection, independent of the parser's and writer's own
/// code, so tests can compare whole models byte for byte.
/// </summary>
internal static class ModelDump
{
    /// <summary>A canonical text form written by reflection, independent of the parser's own code.</summary>
    public static string Of(object? o, bool withLines = true)
    {
        var sb = new StringBuilder();
        Write(sb, o, 0, withLines);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? o, int depth, bool withLines)
    {
        if (depth > 20)
            throw new InvalidOperationException("model too deep");
        switch (o)
        {
            case null: sb.Append("null"); return;
            case string s: sb.Append('"').Append(s).Append('"'); return;
            case IFormattable f when o.GetType().IsPrimitive || o is Enum: sb.Append(f.ToString(null, System.Globalization.CultureInfo.InvariantCulture)); return;
            case bool b: sb.Append(b ? "true" : "false"); return;
            case IEnumerable e:
                sb.Append('[');
                foreach (object? item in e) { Write(sb, item, depth + 1, withLines); sb.Append(','); }
                sb.Append(']');
                return;
        }
        sb.Append(o.GetType().Name).Append('{');
        foreach (var p in o.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (p.GetIndexParameters().Length > 0 || p.Name == "EqualityContract" || (!withLines && p.Name == "Line"))
                continue;
            sb.Append(p.Name).Append('=');
            Write(sb, p.GetValue(o), depth + 1, withLines);
            sb.Append(';');
        }
        sb.Append('}');
    }
}
