namespace EcsMem.Systems.Policies;

/// <summary>
/// An offline policy that must see the whole reference string before the replay starts (Belady's OPT).
/// The simulator calls <see cref="SetFuture"/> once, after <see cref="IReplacementPolicy.Initialize"/> and
/// before the first reference; every later reference must be exactly the next element of that string.
/// </summary>
public interface IFutureAwarePolicy : IReplacementPolicy
{
    /// <summary>Receives the complete page-reference string that is about to be replayed.</summary>
    void SetFuture(ReadOnlySpan<ulong> pages);
}
