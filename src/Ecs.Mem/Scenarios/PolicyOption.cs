namespace EcsMem.Scenarios;

/// <summary>One <c>key: value</c> option of the replacement policy, kept as text with its line for later validation.</summary>
/// <param name="Key">Option name as written.</param>
/// <param name="Value">Option value as written.</param>
/// <param name="Line">1-based line of the value in the scenario file.</param>
public sealed record PolicyOption(string Key, string Value, int Line);
