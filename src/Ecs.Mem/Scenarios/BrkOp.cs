namespace EcsMem.Scenarios;

/// <summary>
/// brk(2)/sbrk(3): move the program break. Exactly one of <see cref="Delta"/> (sbrk-style, may be negative)
/// and <see cref="NewBreak"/> (brk-style absolute address) is set.
/// </summary>
/// <param name="Delta">Bytes to grow (positive) or shrink (negative) the heap by, or null.</param>
/// <param name="NewBreak">New break address, or null.</param>
public sealed record BrkOp(long? Delta, ulong? NewBreak) : TimelineOp;
