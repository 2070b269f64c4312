namespace EcsMem.Systems.Machine;

/// <summary>
/// The simulated kernel's state broke one of the rules <see cref="InvariantChecker"/> checks: a simulator bug,
/// never bad user input. Carries every violation found in one check, in the checker's fixed order.
/// </summary>
public sealed class InvariantViolationException : Exception
{
    public InvariantViolationException(IReadOnlyList<string> violations, string? when = null)
        : base(Describe(violations, when))
    {
        Violations = violations;
    }

    /// <summary>The violations, one message each.</summary>
    public IReadOnlyList<string> Violations { get; }

    private static string Describe(IReadOnlyList<string> violations, string? when)
    {
        string head = $"{violations.Count} kernel invariant violation(s){(when is null ? "" : " " + when)}";
        // Show a bounded number: a broken machine can produce thousands, the first few locate the bug.
        const int Shown = 20;
        var lines = violations.Take(Shown).Select(v => "  " + v);
        string tail = violations.Count > Shown ? $"{Environment.NewLine}  ... and {violations.Count - Shown} more" : "";
        return head + ":" + Environment.NewLine + string.Join(Environment.NewLine, lines) + tail;
    }
}
