namespace TimeBill.Core.Constraints;

/// <summary>
/// The decimal spellings (no sign, no leading zeros) of the integers in a range, as sequences of per-digit ranges:
/// [12, 345] → 1[2-9] | [2-9][0-9] | [1-2][0-9][0-9] | 3[0-3][0-9] | 34[0-5].
/// </summary>
internal static class DigitRanges
{
    /// <summary>Digit-range sequences spelling exactly the integers in lo..hi (0 ≤ lo ≤ hi).</summary>
    public static List<(char Lo, char Hi)[]> Spell(long lo, long hi)
    {
        var result = new List<(char, char)[]>();
        for (int digits = Digits(lo); digits <= Digits(hi); digits++)
        {
            long first = Math.Max(lo, digits == 1 ? 0 : Pow10(digits - 1)), last = Math.Min(hi, Pow10(digits) - 1);
            if (first <= last) SameLength(first.ToString(), last.ToString(), [], result);
        }
        return result;
    }

    /// <summary>Number of decimal digits of <paramref name="value"/> ≥ 0.</summary>
    public static int Digits(long value) => value.ToString().Length;

    /// <summary>10^<paramref name="power"/>.</summary>
    public static long Pow10(int power)
    {
        long v = 1;
        for (int i = 0; i < power; i++) v *= 10;
        return v;
    }

    private static void SameLength(string a, string b, List<(char, char)> prefix, List<(char, char)[]> result)
    {
        if (a.Length == 0) { result.Add([.. prefix]); return; }
        if (a[0] == b[0])
        {
            SameLength(a[1..], b[1..], [.. prefix, (a[0], a[0])], result);
            return;
        }
        bool lowFull = a.AsSpan(1).IndexOfAnyExcept('0') < 0, highFull = b.AsSpan(1).IndexOfAnyExcept('9') < 0;
        char from = lowFull ? a[0] : (char)(a[0] + 1), to = highFull ? b[0] : (char)(b[0] - 1);
        if (!lowFull) SameLength(a[1..], new string('9', a.Length - 1), [.. prefix, (a[0], a[0])], result);
        if (from <= to) result.Add([.. prefix, (from, to), .. Enumerable.Repeat(('0', '9'), a.Length - 1)]);
        if (!highFull) SameLength(new string('0', b.Length - 1), b[1..], [.. prefix, (b[0], b[0])], result);
    }
}
