using System.Diagnostics;
using System.Globalization;

namespace EcsMem.Cli.RunModes;

/// <summary>
/// A one-line progress display on a terminal's stderr for runs longer than a second: accesses done,
/// simulated time and the access rate, redrawn in place at most ten times a second. Only when stderr is the
/// console and not redirected, so tests, pipes and CI never see it. Wall time is used here only, never in the report.
/// </summary>
public sealed class ProgressLine
{
    private readonly TextWriter _err;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _nextCheck = 1;
    private long _lastDrawMs = -1000;
    private int _ticks;
    private int _width;

    private ProgressLine(TextWriter err) => _err = err;

    /// <summary>A progress line when <paramref name="stderr"/> is an interactive console, else null.</summary>
    public static ProgressLine? ForConsole(TextWriter stderr) =>
        ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected ? new ProgressLine(stderr) : null;

    /// <summary>Called after every tick; looks at the clock only every 1024 ticks.</summary>
    public void Update(long accesses, double simulatedSeconds)
    {
        if (++_ticks < _nextCheck)
            return;
        _nextCheck = _ticks + 1024;
        long ms = _clock.ElapsedMilliseconds;
        if (ms < 1000 || ms - _lastDrawMs < 100)
            return;
        _lastDrawMs = ms;
        double rate = accesses / Math.Max(ms / 1000.0, 1e-3);
        string line = string.Create(CultureInfo.InvariantCulture,
            $"ecsmem: {accesses,12:N0} accesses  {simulatedSeconds,9:F3} s simulated  {rate / 1e6,6:F2} M accesses/s  {ms / 1000.0,6:F1} s  (Ctrl-C: stop and report)");
        _width = Math.Max(_width, line.Length);
        _err.Write("\r" + line.PadRight(_width));
        _err.Flush();
    }

    /// <summary>Erases the line if it was drawn.</summary>
    public void Clear()
    {
        if (_width == 0)
            return;
        _err.Write("\r" + new string(' ', _width) + "\r");
        _err.Flush();
    }
}
