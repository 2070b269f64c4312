namespace EcsMem.Traces.Synthetic;

/// <summary>
/// A working set that moves: the trace is cut into phases of <c>PhaseLength</c> accesses; phase p
/// draws uniformly from the <c>WorkingSet</c> elements starting at element <c>(p * Shift) mod Elements</c>
/// (wrapping at the end of the region). Shift = WorkingSet gives disjoint successive sets;
/// a smaller shift gives overlapping, drifting sets.
/// </summary>
public sealed class PhaseWorkload : SyntheticWorkload
{
    private readonly ulong _stride;
    private readonly ulong _elements;
    private readonly ulong _workingSet;
    private readonly long _phaseLength;
    private readonly ulong _shift;
    private ulong _windowStart;
    private long _leftInPhase;

    public PhaseWorkload(in WorkloadCommon common, ulong stride, ulong elements, ulong workingSet, long phaseLength, ulong shift,
        string sourceName = "phase")
        : base(sourceName, common)
    {
        ArgumentOutOfRangeException.ThrowIfZero(stride);
        ArgumentOutOfRangeException.ThrowIfZero(elements);
        if (workingSet == 0 || workingSet > elements) throw new ArgumentOutOfRangeException(nameof(workingSet));
        ArgumentOutOfRangeException.ThrowIfLessThan(phaseLength, 1);
        _stride = stride;
        _elements = elements;
        _workingSet = workingSet;
        _phaseLength = phaseLength;
        _shift = shift % elements;
        _leftInPhase = phaseLength;
    }

    protected override void Fill(Span<MemoryAccess> output)
    {
        for (int i = 0; i < output.Length; i++)
        {
            if (_leftInPhase == 0)
            {
                _leftInPhase = _phaseLength;
                _windowStart = (_windowStart + _shift) % _elements;
            }
            _leftInPhase--;
            ulong e = _windowStart + Rng.NextBelow(_workingSet);
            if (e >= _elements) e -= _elements;
            output[i] = Access(Base + _stride * e);
        }
    }
}
