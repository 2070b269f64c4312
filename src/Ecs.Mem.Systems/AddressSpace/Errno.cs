namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// Linux errno values. Address-space operations return them negated, as the kernel's do_mmap,
/// do_munmap and friends do, because a refused request is a normal outcome to simulate, not a bug.
/// </summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EEXIST = 17;
    public const int EINVAL = 22;
    public const int EFBIG = 27;
    public const int ENOSPC = 28;
    public const int EOPNOTSUPP = 95;

    /// <summary>True when a long result is a negated errno (IS_ERR_VALUE: the top 4095 values).</summary>
    public static bool IsError(long result) => result < 0 && result >= -4095;

    /// <summary>Symbolic name of a (negated or positive) errno for messages.</summary>
    public static string Name(long result) => Math.Abs(result) switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EEXIST => "EEXIST",
        EINVAL => "EINVAL",
        EFBIG => "EFBIG",
        ENOSPC => "ENOSPC",
        EOPNOTSUPP => "EOPNOTSUPP",
        _ => $"errno {Math.Abs(result)}",
    };
}
