namespace EcsMem.Components;

/// <summary>
/// A swap entry (swp_entry_t) as stored in a non-present x86-64 PTE: the 5-bit swap type (which swap
/// device) in bits 59..63 and the page offset in that device, bit-inverted, in bits 9..58. The inversion
/// mirrors x86's L1TF mitigation: a stale non-present entry never points at real low memory.
/// Bits 0 (present) and 8 (PROTNONE) stay clear so the entry cannot be mistaken for a mapped page.
/// </summary>
public readonly struct SwapEntry : IEquatable<SwapEntry>
{
    public const int TypeBits = 5;
    public const int OffsetFirstBit = 9;
    public const int OffsetBits = 64 - TypeBits - OffsetFirstBit; // 50
    public const int MaxSwapFiles = 1 << TypeBits;
    public const ulong MaxOffset = (1UL << OffsetBits) - 1;
    private const ulong OffsetField = MaxOffset << OffsetFirstBit;

    /// <summary>Swap device index (__swp_type).</summary>
    public readonly uint Type;
    /// <summary>Page slot within the device (__swp_offset).</summary>
    public readonly ulong Offset;

    public SwapEntry(uint type, ulong offset)
    {
        // The throws live in their own methods: a constructor this small is inlined where entries are made per page.
        if (type >= MaxSwapFiles)
            ThrowBadType(type);
        if (offset > MaxOffset)
            ThrowBadOffset(offset);
        Type = type;
        Offset = offset;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBadType(uint type) =>
        throw new ArgumentOutOfRangeException(nameof(type), type, $"swap type must be below {MaxSwapFiles}");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBadOffset(ulong offset) =>
        throw new ArgumentOutOfRangeException(nameof(offset), offset, $"swap offset must be at most 0x{MaxOffset:x}");

    /// <summary>__swp_entry_to_pte: the non-present PTE value holding this entry.</summary>
    public ulong ToPteValue() => ((ulong)Type << (64 - TypeBits)) | ((~Offset << OffsetFirstBit) & OffsetField);

    /// <summary>The non-present PTE holding this entry.</summary>
    public Pte ToPte() => new(ToPteValue());

    /// <summary>__pte_to_swp_entry: decodes type and offset from a non-present PTE value.</summary>
    public static SwapEntry FromPteValue(ulong value)
    {
        uint type = (uint)(value >> (64 - TypeBits));
        ulong offset = (~value & OffsetField) >> OffsetFirstBit;
        return new SwapEntry(type, offset);
    }

    public bool Equals(SwapEntry other) => Type == other.Type && Offset == other.Offset;
    public override bool Equals(object? obj) => obj is SwapEntry other && Equals(other);
    public override int GetHashCode() => HashCode.Combine(Type, Offset);
    public static bool operator ==(SwapEntry a, SwapEntry b) => a.Equals(b);
    public static bool operator !=(SwapEntry a, SwapEntry b) => !a.Equals(b);
    public override string ToString() => $"swp(type={Type}, offset=0x{Offset:x})";
}
