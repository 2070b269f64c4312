namespace EcsMem.Scenarios;

/// <summary>Text form of <see cref="Protection"/>.</summary>
public static class ProtectionText
{
    /// <summary>
    /// Parses <c>rwx</c>, <c>rw-</c>, <c>r-x</c>, <c>---</c> (the /proc/pid/maps form), a subset written in order
    /// (<c>rw</c>, <c>rx</c>, <c>r</c>) or <c>none</c>. Returns false for anything else.
    /// </summary>
    public static bool TryParse(string text, out Protection prot)
    {
        prot = Protection.None;
        if (text == "none")
            return true;
        if (text.Length == 3 && text.Contains('-'))
        {
            // Positional form: each column is either its letter or '-'.
            ReadOnlySpan<char> letters = "rwx";
            for (int i = 0; i < 3; i++)
            {
                if (text[i] == letters[i])
                    prot |= (Protection)(1 << i);
                else if (text[i] != '-')
                    return false;
            }
            return true;
        }
        if (text.Length == 0)
            return false;
        // Compact form: letters in r, w, x order, each at most once.
        int next = 0;
        foreach (char c in text)
        {
            int bit = c switch { 'r' => 0, 'w' => 1, 'x' => 2, _ => -1 };
            if (bit < next)
                return false;
            prot |= (Protection)(1 << bit);
            next = bit + 1;
        }
        return true;
    }

    /// <summary>The /proc/pid/maps form, e.g. <c>rw-</c>.</summary>
    public static string Format(Protection prot) => string.Create(3, prot, static (span, p) =>
    {
        span[0] = (p & Protection.Read) != 0 ? 'r' : '-';
        span[1] = (p & Protection.Write) != 0 ? 'w' : '-';
        span[2] = (p & Protection.Exec) != 0 ? 'x' : '-';
    });
}
