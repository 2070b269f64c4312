using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

/// <summary>
/// What the Lackey and pinatrace vector-decoder tests share: reading a whole input with one decoder, and the
/// single-byte corruption comparison of the vector decoder against the reader's plain parser.
/// </summary>
internal static class VectorDecodeHarness
{
    /// <summary>Opens a reader over <c>bytes</c> with its vector decoder on or off.</summary>
    public delegate ITraceReader Open(byte[] bytes, bool vectorized);

    /// <summary>Every record the reader returns with <paramref name="batch"/>-sized reads, and the error that ended it, if any.</summary>
    public static List<MemoryAccess> ReadAll(Open open, byte[] bytes, bool vectorized, int batch, out InputException? error)
    {
        var got = new List<MemoryAccess>();
        error = null;
        using var reader = open(bytes, vectorized);
        var buf = new MemoryAccess[batch];
        try
        {
            int n;
            while ((n = reader.Read(buf)) > 0)
                got.AddRange(buf.AsSpan(0, n).ToArray());
        }
        catch (InputException e)
        {
            error = e;
        }
        return got;
    }

    /// <summary>
    /// 1,500 trials of one byte of <paramref name="valid"/> changed, inserted or removed (from <paramref name="alphabet"/>
    /// mostly, any byte one time in eight): both decoders must return the same records and then the same error (text and
    /// line), or the same records and no error. Returns how many trials ended in an error.
    /// </summary>
    public static int CorruptedTracesEndTheSame(Open open, byte[] valid, int seed, string alphabet)
    {
        var rng = new Random(seed);
        byte[] letters = System.Text.Encoding.ASCII.GetBytes(alphabet);
        int errors = 0;
        for (int trial = 0; trial < 1500; trial++)
        {
            var bytes = new List<byte>(valid);
            int at = rng.Next(bytes.Count);
            byte b = rng.Next(8) == 0 ? (byte)rng.Next(256) : letters[rng.Next(letters.Length)];
            switch (rng.Next(3))
            {
                case 0: bytes[at] = b; break;
                case 1: bytes.Insert(at, b); break;
                default: bytes.RemoveAt(at); break;
            }
            byte[] input = [.. bytes];
            int batch = rng.Next(2) == 0 ? 4096 : 1 + rng.Next(50);
            var plain = ReadAll(open, input, vectorized: false, batch, out var plainError);
            var vector = ReadAll(open, input, vectorized: true, batch, out var vectorError);
            Assert.That(vector, Is.EqualTo(plain), $"trial {trial}: records");
            Assert.That(vectorError?.Message, Is.EqualTo(plainError?.Message), $"trial {trial}: error");
            if (plainError is not null)
            {
                errors++;
                Assert.That(vectorError!.Line, Is.EqualTo(plainError.Line), $"trial {trial}: line");
            }
        }
        return errors;
    }
}
