using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// The block refill shared by the readers of fixed-size binary records (ChampSim, cloudsuite, oracleGeneral): a
/// record may straddle two reads, so the partial one moves to the front of the block before the next read.
/// </summary>
internal static class FixedRecords
{
    /// <summary>
    /// Makes at least <paramref name="recordSize"/> bytes available at <paramref name="start"/>; false at a clean end
    /// of the stream. A partial record at the end is bad input naming record <paramref name="records"/> + 1.
    /// </summary>
    public static bool Refill(Stream stream, byte[] block, ref int start, ref int end, ref bool eof, int recordSize, string source, long records)
    {
        while (true)
        {
            int left = end - start;
            if (left >= recordSize) return true;
            if (eof)
            {
                if (left > 0)
                    throw new InputException(source, records + 1, Convert.ToHexString(block, start, left),
                        $"truncated record: {left} of {recordSize} bytes");
                return false;
            }
            if (left > 0)
                Buffer.BlockCopy(block, start, block, 0, left);
            start = 0;
            end = left;
            int n = TraceFile.ReadChecked(stream, block.AsSpan(end), source, records + 1);
            end += n;
            if (n == 0) eof = true;
        }
    }
}
