namespace EcsMem.Scenarios;

/// <summary>
/// Lay the process out as execve() would for a static ELF: text, data and bss after the load address, the heap
/// (brk area) after bss, and the stack, arguments and environment at the top of user space.
/// </summary>
/// <param name="File">Executable path, the name of the file-backed text/data mappings.</param>
/// <param name="TextBytes">Size of the text (code) segment.</param>
/// <param name="DataBytes">Size of initialised data.</param>
/// <param name="BssBytes">Size of zero-initialised data.</param>
/// <param name="HeapBytes">Initial brk heap size.</param>
/// <param name="StackBytes">Stack size (the stack VMA may grow to this; RLIMIT_STACK).</param>
/// <param name="ArgsEnvBytes">Bytes of argv/envp strings placed above the stack.</param>
/// <param name="Line">1-based line where the <c>exec:</c> section's content starts.</param>
public sealed record ExecLayout(
    string File, long TextBytes, long DataBytes, long BssBytes, long HeapBytes, long StackBytes, long ArgsEnvBytes, int Line)
    : ProcessLayout(Line)
{
    /// <summary>Default segment sizes used for keys an <c>exec:</c> section leaves out.</summary>
    public static ExecLayout Defaults(string processName, int line) =>
        new("/bin/" + processName, 64 << 10, 16 << 10, 16 << 10, 128 << 10, 8 << 20, 4 << 10, line);
}
