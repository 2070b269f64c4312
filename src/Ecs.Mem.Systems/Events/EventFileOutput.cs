using EcsMem.Traces;

namespace EcsMem.Systems.Events;

/// <summary>
/// An event file written while the run goes on: the lines go to a temporary file in the destination's folder,
/// renamed into place by <see cref="Commit"/>; disposed without a commit (an error, an invariant violation), it
/// leaves nothing behind. The public face of the traces' atomic file output for a streamed file.
/// </summary>
public sealed class EventFileOutput : IDisposable
{
    private readonly AtomicFileOutput _out;
    private readonly BufferedStream _buffered;

    public EventFileOutput(string path)
    {
        _out = new AtomicFileOutput(path);
        _buffered = new BufferedStream(_out.Stream, 1 << 16);
        Writer = new EventJsonWriter(_buffered);
    }

    /// <summary>The sink that writes the lines.</summary>
    public EventJsonWriter Writer { get; }

    /// <summary>Puts the complete file in place.</summary>
    public void Commit()
    {
        _buffered.Flush();
        _out.Commit();
    }

    public void Dispose()
    {
        Writer.Dispose();
        _out.Dispose();
    }
}
