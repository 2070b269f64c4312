using System.Text;

namespace EcsMem.Cli;

/// <summary>
/// stderr under <c>-q</c>: whole lines that start with "ecsmem: " (errors, warnings, partial-run notices) pass;
/// progress, timing and notes are dropped. A line is decided when its newline arrives.
/// </summary>
public sealed class QuietWriter(TextWriter inner) : TextWriter
{
    private readonly StringBuilder _line = new();

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        if (value != '\n')
        {
            _line.Append(value);
            return;
        }
        string line = _line.ToString();
        _line.Clear();
        if (line.StartsWith("ecsmem: ", StringComparison.Ordinal))
            inner.Write(line + "\n");
    }

    public override void Flush()
    {
        inner.Flush();
    }
}
