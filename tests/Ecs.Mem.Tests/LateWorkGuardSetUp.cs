using EcsMem.Simulation;

// No namespace: NUnit runs a SetUpFixture for the tests in its namespace and below, so this one covers the assembly.

/// <summary>
/// The tests run with the late-work guard throwing (SimEnvironment.ThrowOnLateWork, off in Release builds): work added
/// to a tick's batch after its consumer has run fails the test that produced it, where it was added.
/// </summary>
[SetUpFixture]
public sealed class LateWorkGuardSetUp
{
    [OneTimeSetUp]
    public void GuardOn() => SimEnvironment.ThrowOnLateWorkByDefault = true;
}
