namespace EcsMem.Scenarios;

/// <summary>
/// A synthetic workload written as a compact spec <c>kind:key=value,...</c> (e.g. <c>zipf:count=1000000,pages=50000,alpha=0.9,seed=1</c>).
/// The spec is carried as text: the workload-spec parser interprets it and reports errors with
/// <see cref="Workload.Line"/> of this scenario file.
/// </summary>
/// <param name="Spec">The spec string, trimmed.</param>
/// <param name="Line">1-based line of the spec string.</param>
public sealed record GeneratorWorkload(string Spec, int Line) : Workload(Line)
{
    /// <summary>The text before the first ':' (e.g. <c>zipf</c>).</summary>
    public string Kind => Spec.IndexOf(':') is var i and >= 0 ? Spec[..i] : Spec;
}
