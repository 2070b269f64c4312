namespace EcsMem.Scenarios;

/// <summary>The MREMAP_* flags a timeline mremap can pass (the x86 uapi values).</summary>
[Flags]
public enum MremapFlags : byte
{
    None = 0,
    /// <summary>MREMAP_MAYMOVE: the kernel may move the mapping when it cannot grow in place.</summary>
    MayMove = 1,
    /// <summary>MREMAP_FIXED: move to exactly <see cref="MremapOp.NewAddress"/>, replacing what was there.</summary>
    Fixed = 2,
    /// <summary>MREMAP_DONTUNMAP: move the pages but leave the old range mapped (and empty).</summary>
    DontUnmap = 4,
}

/// <summary>
/// mremap(2) of [<paramref name="Address"/>, +<paramref name="OldLength"/>) to <paramref name="NewLength"/> bytes.
/// Alignment and flag combinations are checked when the call runs (Linux's EINVAL), not when the file is read.
/// </summary>
/// <param name="Address">Start of the old range.</param>
/// <param name="OldLength">Old length in bytes.</param>
/// <param name="NewLength">New length in bytes.</param>
/// <param name="Flags">MREMAP_* flags.</param>
/// <param name="NewAddress">The destination for <see cref="MremapFlags.Fixed"/> (a hint with <see cref="MremapFlags.DontUnmap"/>).</param>
public sealed record MremapOp(ulong Address, long OldLength, long NewLength, MremapFlags Flags, ulong NewAddress) : TimelineOp;

/// <summary>mlock(2) / mlock2(MLOCK_ONFAULT) (<paramref name="OnFault"/>) or, with <paramref name="Unlock"/>, munlock(2) of [Address, +Length).</summary>
/// <param name="Address">Start (rounded down to its page, as Linux does).</param>
/// <param name="Length">Length in bytes.</param>
/// <param name="OnFault">MLOCK_ONFAULT: VM_LOCKONFAULT as well.</param>
/// <param name="Unlock">munlock instead of mlock.</param>
public sealed record MlockOp(ulong Address, long Length, bool OnFault, bool Unlock) : TimelineOp;

/// <summary>mlockall(2) with MCL_* <paramref name="Flags"/> (1 current, 2 future, 4 onfault) or, with <paramref name="Unlock"/>, munlockall(2).</summary>
/// <param name="Flags">MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT.</param>
/// <param name="Unlock">munlockall instead of mlockall.</param>
public sealed record MlockallOp(int Flags, bool Unlock) : TimelineOp;
