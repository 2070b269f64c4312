namespace EcsMem.Scenarios;

/// <summary>
/// A system call (or process event) a timeline entry performs: <see cref="MmapOp"/>, <see cref="MunmapOp"/>,
/// <see cref="MprotectOp"/>, <see cref="BrkOp"/>, <see cref="ForkOp"/> or <see cref="ExitOp"/>.
/// </summary>
public abstract record TimelineOp;
