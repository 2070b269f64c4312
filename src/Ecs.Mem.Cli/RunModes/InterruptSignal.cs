namespace EcsMem.Cli.RunModes;

/// <summary>
/// Ctrl-C while a simulation runs: the first press asks the run to stop at the next tick (the partial report
/// is still printed and output files still written whole); a second press ends the process at once.
/// </summary>
public sealed class InterruptSignal : IDisposable
{
    private volatile bool _requested;

    private InterruptSignal()
    {
        Console.CancelKeyPress += OnCancel;
    }

    /// <summary>True once Ctrl-C was pressed.</summary>
    public bool Requested => _requested;

    public static InterruptSignal Install() => new();

    private void OnCancel(object? sender, ConsoleCancelEventArgs e)
    {
        // Keep the process alive for the first press only: a run that ignores the request can still be killed.
        e.Cancel = !_requested;
        _requested = true;
    }

    public void Dispose() => Console.CancelKeyPress -= OnCancel;
}
