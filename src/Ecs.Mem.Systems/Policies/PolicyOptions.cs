namespace EcsMem.Systems.Policies;

/// <summary>What a policy factory may need besides the frame count (which comes in Initialize).</summary>
/// <param name="Seed">Seed for randomised policies; same seed, same run.</param>
public readonly record struct PolicyOptions(ulong Seed);
