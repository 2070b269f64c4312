using System.Globalization;
using System.Text;

namespace EcsMem.Systems.Caches.Cachegrind;

/// <summary>
/// Prints the summary Cachegrind 3.19 prints at exit with <c>--cache-sim=yes</c>, without
/// Valgrind's <c>==PID== </c> prefix: same labels, thousands separators, column widths and
/// percentages. Widths follow Cachegrind's rule: column 1 is as wide as the I refs total printed
/// with commas, column 2 as wide as the Dr total, column 3 as wide as the Dw total. Instruction
/// miss rates have two decimals, the others one, rounded as Valgrind's printf rounds
/// (<see cref="ValgrindFixed"/>). A zero denominator is treated as 1.
/// </summary>
public static class CachegrindReport
{
    public static string Format(in CachegrindCounts c)
    {
        int l1 = Grouped(c.Ir).Length;
        int l2 = Grouped(c.Dr).Length;
        int l3 = Grouped(c.Dw).Length;
        long dRefs = c.Dr + c.Dw, d1 = c.D1mr + c.D1mw, dL = c.DLmr + c.DLmw;
        var sb = new StringBuilder();
        One(sb, "I   refs:     ", c.Ir, l1);
        One(sb, "I1  misses:   ", c.I1mr, l1);
        One(sb, "LLi misses:   ", c.ILmr, l1);
        long ir = c.Ir == 0 ? 1 : c.Ir;
        sb.Append("I1  miss rate: ").Append(Percent(c.I1mr, ir, 2, l1)).Append("%\n");
        sb.Append("LLi miss rate: ").Append(Percent(c.ILmr, ir, 2, l1)).Append("%\n");
        sb.Append('\n');
        Three(sb, "D   refs:     ", dRefs, c.Dr, c.Dw, l1, l2, l3);
        Three(sb, "D1  misses:   ", d1, c.D1mr, c.D1mw, l1, l2, l3);
        Three(sb, "LLd misses:   ", dL, c.DLmr, c.DLmw, l1, l2, l3);
        long dA = dRefs == 0 ? 1 : dRefs, drA = c.Dr == 0 ? 1 : c.Dr, dwA = c.Dw == 0 ? 1 : c.Dw;
        Rates(sb, "D1  miss rate: ", Percent(d1, dA, 1, l1), Percent(c.D1mr, drA, 1, l2), Percent(c.D1mw, dwA, 1, l3));
        Rates(sb, "LLd miss rate: ", Percent(dL, dA, 1, l1), Percent(c.DLmr, drA, 1, l2), Percent(c.DLmw, dwA, 1, l3));
        sb.Append('\n');
        Three(sb, "LL refs:      ", c.LLrefs, c.LLrefsRead, c.D1mw, l1, l2, l3);
        Three(sb, "LL misses:    ", c.LLmisses, c.LLmissesRead, c.DLmw, l1, l2, l3);
        // The LL rates divide by all references (I + D), as Cachegrind does, not by LL refs,
        // and reuse the zero-guarded denominators.
        Rates(sb, "LL miss rate:  ",
            Percent(c.LLmisses, ir + dA, 1, l1),
            Percent(c.LLmissesRead, ir + drA, 1, l2),
            Percent(c.DLmw, dwA, 1, l3));
        return sb.ToString();
    }

    /// <summary>A count with a comma every three digits (C's <c>%'llu</c> in the C locale Valgrind uses).</summary>
    public static string Grouped(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary><c>%*.Nf</c> of <c>part*100/whole</c>, right-aligned in <paramref name="width"/>.</summary>
    public static string Percent(long part, long whole, int decimals, int width) =>
        ValgrindFixed(part * 100.0 / whole, decimals).PadLeft(width);

    /// <summary>
    /// Fixed-point text as Valgrind's own printf produces it (not glibc's): the fraction is scaled
    /// by 10^decimals, truncated, and rounded up only when the remainder is strictly above one
    /// half, so an exact half rounds down (0.25 with one decimal prints 0.2, as glibc also does,
    /// but 0.125 with two decimals prints 0.12 where a round-half-away rule would print 0.13).
    /// </summary>
    public static string ValgrindFixed(double value, int decimals)
    {
        bool negative = value < 0;
        if (negative) value = -value;
        ulong whole = (ulong)value;
        double frac = value - whole;
        ulong factor = 1;
        for (int i = 0; i < decimals; i++) factor *= 10;
        double scaled = frac * factor;
        ulong digits = (ulong)scaled;
        if (scaled - digits > 0.5)
            digits++;
        if (digits == factor)
            whole++;
        digits %= factor;
        var inv = CultureInfo.InvariantCulture;
        string text = whole.ToString(inv);
        if (decimals > 0)
            text += "." + digits.ToString(inv).PadLeft(decimals, '0');
        return negative ? "-" + text : text;
    }

    private static void One(StringBuilder sb, string label, long v, int w) =>
        sb.Append(label).Append(' ').Append(Grouped(v).PadLeft(w)).Append('\n');

    private static void Three(StringBuilder sb, string label, long total, long rd, long wr, int l1, int l2, int l3) =>
        sb.Append(label).Append(' ').Append(Grouped(total).PadLeft(l1))
          .Append("  (").Append(Grouped(rd).PadLeft(l2)).Append(" rd   + ")
          .Append(Grouped(wr).PadLeft(l3)).Append(" wr)\n");

    private static void Rates(StringBuilder sb, string label, string all, string rd, string wr) =>
        sb.Append(label).Append(all).Append("% (").Append(rd).Append("%     + ").Append(wr).Append("%  )\n");
}
