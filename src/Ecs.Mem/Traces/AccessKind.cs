namespace EcsMem.Traces;

/// <summary>
/// What a memory access does, in the vocabulary of Valgrind Lackey (I, L, S, M).
/// A modify (M) is a load followed by a store to the same location, as in Lackey and Cachegrind.
/// </summary>
public enum AccessKind : byte
{
    /// <summary>Instruction fetch (Lackey "I").</summary>
    Instr = 0,
    /// <summary>Data read (Lackey " L", pinatrace "R").</summary>
    Load = 1,
    /// <summary>Data write (Lackey " S", pinatrace "W").</summary>
    Store = 2,
    /// <summary>Read-modify-write of one location (Lackey " M").</summary>
    Modify = 3,
}
