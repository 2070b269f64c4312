namespace EcsMem.Systems.Ideal;

/// <summary>
/// One reference of an ideal-mode replay, as an exercise table shows it.
/// </summary>
/// <param name="Page">The page referenced.</param>
/// <param name="Fault">True when the page was not resident (a page fault), false for a hit.</param>
/// <param name="Frame">The frame that holds the page after this step (the one it was found in, or loaded into).</param>
/// <param name="Victim">The page evicted from <paramref name="Frame"/> to make room, or null (a hit, or a fault that found a free frame).</param>
/// <param name="Frames">The page in every frame after this step, by frame number; null for an empty frame.</param>
public sealed record IdealStep(ulong Page, bool Fault, int Frame, ulong? Victim, IReadOnlyList<ulong?> Frames);

/// <summary>
/// Records every reference of an <see cref="IdealSimulator"/> replay (set as its <see cref="IdealSimulator.StepRecorder"/>):
/// the content of every frame after the reference, hit or fault, and the victim. Pages keep the frame they were
/// loaded into, so the frames read like a textbook's table. A teaching view: it keeps a copy of all frames per
/// step, so it is meant for short reference strings and few frames.
/// </summary>
public sealed class IdealStepRecorder
{
    private readonly List<IdealStep> _steps = [];

    /// <summary>The steps recorded so far, in reference order.</summary>
    public IReadOnlyList<IdealStep> Steps => _steps;

    /// <summary>
    /// Records one reference: <paramref name="residents"/> are the pages in frames 0 .. residents.Length-1 after it
    /// (the simulator fills frames in order, so the rest of the <paramref name="frames"/> frames are empty).
    /// The victim is whatever the frame held before this step: a fault either takes a free frame or evicts.
    /// </summary>
    internal void Record(ulong page, bool fault, int frame, ReadOnlySpan<ulong> residents, int frames)
    {
        var now = new ulong?[frames];
        for (int f = 0; f < residents.Length; f++) now[f] = residents[f];
        ulong? victim = fault && _steps.Count > 0 ? _steps[^1].Frames[frame] : null;
        _steps.Add(new IdealStep(page, fault, frame, victim, now));
    }
}
