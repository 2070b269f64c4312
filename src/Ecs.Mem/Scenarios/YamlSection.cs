using EcsMem.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace EcsMem.Scenarios;

/// <summary>
/// A YAML mapping read strictly: every key must be one the caller names, so a typo such as <c>rams:</c> is
/// reported with its line instead of silently leaving the default in place.
/// </summary>
internal sealed class YamlSection
{
    private readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);

    public YamlSection(string source, YamlNode node, string path, params string[] allowedKeys)
    {
        Path = path;
        Node = node;
        if (node is not YamlMappingNode map)
            throw new InputException(source, YamlValues.LineOf(node), YamlValues.Show(node), $"{(path.Length == 0 ? "the scenario" : path)} must be a mapping of keys to values");
        foreach (var (keyNode, value) in map.Children)
        {
            if (keyNode is not YamlScalarNode key || key.Value is null)
                throw new InputException(source, YamlValues.LineOf(keyNode), YamlValues.Show(keyNode), $"a key in {(path.Length == 0 ? "the scenario" : path)} must be a plain name");
            string k = key.Value;
            if (Array.IndexOf(allowedKeys, k) < 0)
                throw new InputException(source, YamlValues.LineOf(key), k,
                    $"unknown key in {(path.Length == 0 ? "the scenario" : path)} (expected one of: {string.Join(", ", allowedKeys)})");
            if (!_entries.TryAdd(k, (key, value)))
                throw new InputException(source, YamlValues.LineOf(key), k,
                    $"duplicate key in {(path.Length == 0 ? "the scenario" : path)} (first on line {YamlValues.LineOf(_entries[k].Key)})");
        }
    }

    /// <summary>Dotted path of this mapping in the document, for messages (e.g. <c>machine.caches.l2</c>).</summary>
    public string Path { get; }

    /// <summary>The mapping node itself.</summary>
    public YamlNode Node { get; }

    /// <summary>1-based line of the mapping.</summary>
    public int Line => YamlValues.LineOf(Node);

    /// <summary>The value under <paramref name="key"/>, or null when the key is absent.</summary>
    public YamlNode? Get(string key) => _entries.TryGetValue(key, out var e) ? e.Value : null;

    /// <summary>Whether <paramref name="key"/> is present.</summary>
    public bool Has(string key) => _entries.ContainsKey(key);

    /// <summary>The path of a child key, for messages.</summary>
    public string PathOf(string key) => Path.Length == 0 ? key : Path + "." + key;

    /// <summary>Keys present among <paramref name="keys"/>, in the order given.</summary>
    public List<string> Present(params string[] keys)
    {
        var found = new List<string>();
        foreach (string k in keys)
            if (_entries.ContainsKey(k))
                found.Add(k);
        return found;
    }

    /// <summary>The 1-based line of <paramref name="key"/>'s key node (the section's own line when absent).</summary>
    public int KeyLine(string key) => _entries.TryGetValue(key, out var e) ? YamlValues.LineOf(e.Key) : Line;
}
