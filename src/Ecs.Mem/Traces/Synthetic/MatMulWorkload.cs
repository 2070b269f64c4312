namespace EcsMem.Traces.Synthetic;

/// <summary>
/// The data accesses of a naive, unoptimised matrix multiply over row-major N×N matrices of doubles:
/// <code>
/// for i in 0..N: for j in 0..N: for k in 0..N:
///     C[i][j] += A[i][k] * B[k][j]   // load A[i][k], load B[k][j], load C[i][j], store C[i][j]
/// </code>
/// Four 8-byte accesses per innermost iteration, so one multiply is 3N³ loads and N³ stores
/// (C[i][j] is not kept in a register, as at -O0). Element (r, c) of a matrix at X is at X + 8(rN + c).
/// After one multiply the loop nest starts again, so any count is allowed. Stores are fixed by the
/// algorithm, so <see cref="WorkloadCommon.Writes"/> is not used.
/// </summary>
public sealed class MatMulWorkload : SyntheticWorkload
{
    private const ulong Elem = sizeof(double);

    private readonly ulong _n;
    private readonly ulong _a, _b, _c;
    private ulong _i, _j, _k;
    private int _step;

    public MatMulWorkload(in WorkloadCommon common, ulong n, ulong a, ulong b, ulong c, string sourceName = "matmul")
        : base(sourceName, common)
    {
        ArgumentOutOfRangeException.ThrowIfZero(n);
        _n = n;
        _a = a;
        _b = b;
        _c = c;
    }

    /// <summary>Accesses in one full multiply: 4N³.</summary>
    public static ulong AccessesPerMultiply(ulong n) => 4 * n * n * n;

    protected override void Fill(Span<MemoryAccess> output)
    {
        int pid = Process;
        ushort size = Size;
        for (int x = 0; x < output.Length; x++)
        {
            switch (_step)
            {
                case 0:
                    output[x] = new MemoryAccess(_a + Elem * (_i * _n + _k), pid, size, AccessKind.Load);
                    break;
                case 1:
                    output[x] = new MemoryAccess(_b + Elem * (_k * _n + _j), pid, size, AccessKind.Load);
                    break;
                case 2:
                    output[x] = new MemoryAccess(_c + Elem * (_i * _n + _j), pid, size, AccessKind.Load);
                    break;
                default:
                    output[x] = new MemoryAccess(_c + Elem * (_i * _n + _j), pid, size, AccessKind.Store);
                    break;
            }
            if (++_step < 4) continue;
            _step = 0;
            if (++_k < _n) continue;
            _k = 0;
            if (++_j < _n) continue;
            _j = 0;
            if (++_i < _n) continue;
            _i = 0;
        }
    }
}
