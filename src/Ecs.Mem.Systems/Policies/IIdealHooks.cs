using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// The five policy hooks the ideal-mode replay loop calls, for a policy known at compile time. Each built-in
/// policy has a struct implementing this (its nested <c>Hooks</c>) that calls the policy's own methods directly;
/// <see cref="EcsMem.Systems.Ideal.IdealSimulator"/> is generic over it, as <c>SetAssociativeCache</c> is over its
/// set-replacement struct, so the JIT compiles one loop per built-in policy with the hooks inlined and no
/// interface dispatch. Any other policy (a custom one registered at run time) goes through
/// <see cref="InterfaceHooks"/>, i.e. through <see cref="IReplacementPolicy"/>, with the same results.
/// </summary>
/// <remarks>
/// The hooks mean exactly what the <see cref="IReplacementPolicy"/> methods of the same names mean, in the same
/// call order; <see cref="ChooseVictim"/> is <c>ChooseVictim(ReadOnlySpan&lt;bool&gt;.Empty)</c> (the ideal mode
/// pins nothing).
/// </remarks>
internal interface IIdealHooks
{
    void OnMiss(ulong page);
    void OnInserted(int frame, ulong page);
    void OnReferenced(int frame);
    int ChooseVictim();
    void OnRemoved(int frame);
}

/// <summary>Any <see cref="IReplacementPolicy"/> through its interface: the path of custom policies.</summary>
internal readonly struct InterfaceHooks(IReplacementPolicy policy) : IIdealHooks
{
    private readonly IReplacementPolicy _policy = policy;

    public void OnMiss(ulong page) => _policy.OnMiss(page);

    public void OnInserted(int frame, ulong page) => _policy.OnInserted(frame, page);

    public void OnReferenced(int frame) => _policy.OnReferenced(frame);

    public int ChooseVictim() => _policy.ChooseVictim(ReadOnlySpan<bool>.Empty);

    public void OnRemoved(int frame) => _policy.OnRemoved(frame);
}
