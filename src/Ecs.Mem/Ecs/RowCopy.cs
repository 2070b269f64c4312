using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EcsMem.Ecs;

/// <summary>
/// One column of a row copy between two chunks: the column's position in each and the component's size.
/// Only for components without references; those are copied as bytes.
/// </summary>
internal readonly struct ColumnCopy(int from, int to, int size)
{
    public readonly int From = from;
    public readonly int To = to;
    public readonly int Size = size;
}

/// <summary>One column of a row copy whose component holds references: it goes through its typed ops.</summary>
internal readonly struct ManagedColumnCopy(int from, int to, ColumnOps ops)
{
    public readonly int From = from;
    public readonly int To = to;
    public readonly ColumnOps Ops = ops;
}

/// <summary>
/// How structural changes copy a row between chunks when the component types are not known statically.
/// Components without references are copied as bytes, by a plan worked out once per edge or archetype;
/// a virtual call per column cost more than the copies themselves, and a move does six of them. Components
/// holding references go through their typed <see cref="ColumnOps"/>, because the GC must see those stores.
/// </summary>
internal static class RowCopy
{
    /// <summary>Splits the columns both sides share into the byte-copied plan and the typed one.</summary>
    public static (ColumnCopy[] Plain, ManagedColumnCopy[] Managed) Plan(IEnumerable<(int From, int To, ComponentType Type)> shared)
    {
        var plain = new List<ColumnCopy>();
        var managed = new List<ManagedColumnCopy>();
        foreach (var (from, to, type) in shared)
        {
            if (type.HoldsReferences)
                managed.Add(new ManagedColumnCopy(from, to, type.Ops));
            else
                plain.Add(new ColumnCopy(from, to, type.Size));
        }
        return (plain.ToArray(), managed.ToArray());
    }

    /// <summary>Copies row <paramref name="fromRow"/> of <paramref name="from"/>'s columns to row <paramref name="toRow"/> of <paramref name="to"/>'s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Row(Array[] from, int fromRow, Array[] to, int toRow, ColumnCopy[] plain, ManagedColumnCopy[] managed)
    {
        Plain(from, fromRow, to, toRow, plain);
        if (managed.Length != 0)
            Managed(from, fromRow, to, toRow, managed);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Plain(Array[] from, int fromRow, Array[] to, int toRow, ColumnCopy[] plan)
    {
        ref Array f = ref MemoryMarshal.GetArrayDataReference(from);
        ref Array t = ref MemoryMarshal.GetArrayDataReference(to);
        foreach (ref readonly ColumnCopy c in plan.AsSpan())
        {
            // Columns are single-dimension, zero-based arrays: their elements start at the same offset
            // whatever the element type, so the byte[] view addresses them.
            int size = c.Size;
            ref byte src = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Unsafe.As<byte[]>(Unsafe.Add(ref f, c.From))), (nint)fromRow * size);
            ref byte dst = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Unsafe.As<byte[]>(Unsafe.Add(ref t, c.To))), (nint)toRow * size);
            switch (size)
            {
                case 4:
                    Unsafe.WriteUnaligned(ref dst, Unsafe.ReadUnaligned<int>(ref src));
                    break;
                case 8:
                    Unsafe.WriteUnaligned(ref dst, Unsafe.ReadUnaligned<long>(ref src));
                    break;
                case 16:
                    Unsafe.WriteUnaligned(ref dst, Unsafe.ReadUnaligned<Vector128<byte>>(ref src));
                    break;
                default:
                    Unsafe.CopyBlockUnaligned(ref dst, ref src, (uint)size);
                    break;
            }
        }
    }

    private static void Managed(Array[] from, int fromRow, Array[] to, int toRow, ManagedColumnCopy[] plan)
    {
        foreach (ref readonly ManagedColumnCopy c in plan.AsSpan())
            c.Ops.CopyRow(from[c.From], fromRow, to[c.To], toRow);
    }
}
