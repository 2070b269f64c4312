using System.Text;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Mutates a valid input into an almost-valid one, the way a mutation fuzzer does: bit flips, truncation,
/// deleted or duplicated ranges, random bytes, and whole inserted lines made of tokens parsers find hard
/// (huge numbers, signs, hex overflow, separators, non-ASCII).
/// </summary>
internal static class InputMutator
{
    private static readonly string[] Tokens =
    [
        "18446744073709551615", "18446744073709551616", "99999999999999999999999999", "-1", "-9223372036854775809",
        "0x", "0xffffffffffffffffff", "0x10000000000000000", "0xg", "1e309", "NaN", "4096", "0", "", " ", ",",
        ":", "::", "{", "}", "[", "]", "\t", "#", "I", "L", "S", "M", "R", "W", "X", "é", "\u0000", "\r", "~",
        "ram: 0", "swap: -1", "count=0", "pages=999999999999", "- name:", "  -", "batch: 0", "quantum: 99999999999999999999",
    ];

    public static byte[] Mutate(byte[] input, ref ReliabilityRng rng)
    {
        var data = new List<byte>(input);
        int edits = 1 + rng.Below(4);
        for (int e = 0; e < edits; e++)
        {
            int at = data.Count == 0 ? 0 : rng.Below(data.Count + 1);
            switch (rng.Below(7))
            {
                case 0 when data.Count > 0: // bit flip
                    {
                        int i = Math.Min(at, data.Count - 1);
                        data[i] ^= (byte)(1 << rng.Below(8));
                        break;
                    }
                case 1: // truncation
                    data.RemoveRange(at, data.Count - at);
                    break;
                case 2: // delete a range
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + rng.Below(16)));
                    break;
                case 3: // random bytes
                    for (int n = 1 + rng.Below(8); n > 0; n--)
                        data.Insert(at, (byte)rng.Below(256));
                    break;
                case 4: // a token, as a whole line or in place
                    {
                        string t = Tokens[rng.Below(Tokens.Length)];
                        if (rng.Chance(50))
                            t = "\n" + t + "\n";
                        data.InsertRange(at, Encoding.UTF8.GetBytes(t));
                        break;
                    }
                case 5: // duplicate a range (repeated lines, repeated records)
                    {
                        int len = Math.Min(data.Count - at, 1 + rng.Below(64));
                        data.InsertRange(at, data.GetRange(at, len));
                        break;
                    }
                default: // replace a byte with a digit, so numbers grow
                    if (data.Count > 0)
                        data[Math.Min(at, data.Count - 1)] = (byte)('0' + rng.Below(10));
                    break;
            }
        }
        return data.ToArray();
    }

    public static byte[] RandomBytes(ref ReliabilityRng rng, int max)
    {
        var b = new byte[rng.Below(max + 1)];
        for (int i = 0; i < b.Length; i++)
            b[i] = rng.Chance(70) ? (byte)"0123456789abcdefxILSMRW :,\n"[rng.Below(27)] : (byte)rng.Below(256);
        return b;
    }
}
