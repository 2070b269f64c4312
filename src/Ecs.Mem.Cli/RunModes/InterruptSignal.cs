using System.Runtime.InteropServices;
using EcsMem.Traces;

namespace EcsMem.Cli.RunModes;

/// <summary>
/// SIGINT (Ctrl-C) and SIGTERM for the whole process, installed once by <see cref="Program.Main"/> before any
/// work, so start-up (scenario parsing, trace opening, machine building) is covered too. The first signal asks
/// the command to stop at its next check: it finishes with what it has (the partial report, outputs written
/// whole or not at all) and exits with 128 + the signal (130 for SIGINT, 143 for SIGTERM). A second signal ends
/// the process at once, after deleting the temporary files of unfinished outputs (<see cref="TemporaryFiles"/>).
/// Uses <see cref="PosixSignalRegistration"/> (NativeAOT-safe).
/// </summary>
public static class InterruptSignal
{
    /// <summary>Exit code of a command stopped by SIGINT (128 + 2, as shells report it).</summary>
    public const int ExitSigint = 130;

    /// <summary>Exit code of a command stopped by SIGTERM (128 + 15).</summary>
    public const int ExitSigterm = 143;

    private static readonly CancellationTokenSource Source = new();
    private static readonly object Gate = new();
    private static PosixSignalRegistration? _sigint;
    private static PosixSignalRegistration? _sigterm;
    private static int _received;
    private static volatile int _exitCode;

    /// <summary>True once SIGINT or SIGTERM arrived (or <see cref="Request"/> was called).</summary>
    public static bool Requested => _exitCode != 0;

    /// <summary>Cancelled when the first signal arrives: long loops poll it, or pass it on.</summary>
    public static CancellationToken Token => Source.Token;

    /// <summary>130 after SIGINT, 143 after SIGTERM; 0 while no signal arrived.</summary>
    public static int ExitCode => _exitCode;

    /// <summary>"SIGINT" or "SIGTERM", for messages.</summary>
    public static string SignalName => _exitCode == ExitSigterm ? "SIGTERM" : "SIGINT";

    /// <summary>Registers the handlers (idempotent). Only the real process calls this; in-process tests do not.</summary>
    public static void Install()
    {
        lock (Gate)
        {
            if (_sigint is not null)
                return;
            _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        }
    }

    /// <summary>Acts as if the first <paramref name="sigterm"/> ? SIGTERM : SIGINT had arrived.</summary>
    public static void Request(bool sigterm = false)
    {
        if (Interlocked.Increment(ref _received) == 1)
            Stop(sigterm ? ExitSigterm : ExitSigint);
    }

    private static void Stop(int exitCode)
    {
        _exitCode = exitCode;
        Source.Cancel();
    }

    private static void OnSignal(PosixSignalContext context)
    {
        int code = context.Signal == PosixSignal.SIGTERM ? ExitSigterm : ExitSigint;
        // The process decides when to end: never the runtime's default action.
        context.Cancel = true;
        if (Interlocked.Increment(ref _received) == 1)
        {
            Stop(code);
            return;
        }

        // A second signal: the user will not wait for the command to wind down.
        TemporaryFiles.DeleteAll();
        try
        {
            Console.Error.WriteLine($"ecsmem: {(code == ExitSigterm ? "SIGTERM" : "SIGINT")} again: stopped at once, without a report");
        }
        catch (IOException)
        {
        }

        Environment.Exit(code);
    }
}
