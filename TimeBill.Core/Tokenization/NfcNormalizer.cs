using System.Text;

namespace TimeBill.Core.Tokenization;

/// <summary>
/// Unicode NFC (canonical decomposition, canonical ordering, canonical composition) from the tables in
/// <see cref="UnicodeNfcData"/>. .NET's <see cref="string.Normalize()"/> needs ICU and is a no-op under invariant
/// globalization, so tokenizers cannot rely on it.
/// </summary>
internal static class NfcNormalizer
{
    private const int HangulSBase = 0xAC00, HangulLBase = 0x1100, HangulVBase = 0x1161, HangulTBase = 0x11A7;
    private const int HangulLCount = 19, HangulVCount = 21, HangulTCount = 28;
    private const int HangulNCount = HangulVCount * HangulTCount, HangulSCount = HangulLCount * HangulNCount;

    private static readonly byte[] BmpCombiningClass = new byte[0x10000];
    private static readonly ulong[] BmpNotQuickCheckYes = new ulong[0x10000 / 64];
    private static readonly Dictionary<int, (int First, int Second)> Decompositions = [];
    private static readonly Dictionary<long, int> Compositions = [];

    static NfcNormalizer()
    {
        var runs = UnicodeNfcData.CombiningClassRuns;
        for (int i = 0; i < runs.Length; i += 3)
            for (int cp = runs[i]; cp <= runs[i + 1] && cp < 0x10000; cp++) BmpCombiningClass[cp] = (byte)runs[i + 2];
        var quick = UnicodeNfcData.QuickCheckNotYesRuns;
        for (int i = 0; i < quick.Length; i += 2)
            for (int cp = quick[i]; cp <= quick[i + 1] && cp < 0x10000; cp++) BmpNotQuickCheckYes[cp >> 6] |= 1UL << (cp & 63);
        var decompositions = UnicodeNfcData.Decompositions;
        for (int i = 0; i < decompositions.Length; i += 4)
        {
            Decompositions[decompositions[i]] = (decompositions[i + 1], decompositions[i + 2]);
            if (decompositions[i + 3] == 1) Compositions[Pair(decompositions[i + 1], decompositions[i + 2])] = decompositions[i];
        }
    }

    /// <summary>Whether <paramref name="text"/> is already NFC (the quick check, answering "no" for "maybe").</summary>
    public static bool IsNormalized(ReadOnlySpan<char> text)
    {
        // Nothing below U+0300 decomposes into, reorders or composes with anything.
        int first = text.IndexOfAnyExceptInRange('\0', '\u02FF');
        if (first < 0) return true;
        int lastClass = 0;
        for (int i = first; i < text.Length;)
        {
            int cp = ReadCodePoint(text, ref i);
            int cc = CombiningClass(cp);
            if (cc != 0 && lastClass > cc || !IsQuickCheckYes(cp)) return false;
            lastClass = cc;
        }
        return true;
    }

    /// <summary>The NFC form of <paramref name="text"/>.</summary>
    public static string Normalize(ReadOnlySpan<char> text)
    {
        if (IsNormalized(text)) return text.ToString();
        var points = new List<int>(text.Length + 8);
        for (int i = 0; i < text.Length;) Decompose(ReadCodePoint(text, ref i), points);
        int length = Compose(points);
        var builder = new StringBuilder(length + 8);
        for (int i = 0; i < length; i++)
        {
            int cp = points[i];
            // Unpaired surrogates pass through as the code units they were.
            if (cp is >= 0xD800 and <= 0xDFFF) builder.Append((char)cp);
            else builder.Append(char.ConvertFromUtf32(cp));
        }
        return builder.ToString();
    }

    private static int ReadCodePoint(ReadOnlySpan<char> text, ref int i)
    {
        char c = text[i++];
        if (char.IsHighSurrogate(c) && i < text.Length && char.IsLowSurrogate(text[i])) return char.ConvertToUtf32(c, text[i++]);
        return c;
    }

    private static int CombiningClass(int cp) => cp < 0x10000 ? BmpCombiningClass[cp] : SupplementaryCombiningClass(cp);

    private static int SupplementaryCombiningClass(int cp)
    {
        var runs = UnicodeNfcData.CombiningClassRuns;
        int lo = 0, hi = runs.Length / 3 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (cp < runs[mid * 3]) hi = mid - 1;
            else if (cp > runs[mid * 3 + 1]) lo = mid + 1;
            else return runs[mid * 3 + 2];
        }
        return 0;
    }

    private static bool IsQuickCheckYes(int cp)
    {
        if (cp < 0x10000) return (BmpNotQuickCheckYes[cp >> 6] & 1UL << (cp & 63)) == 0;
        var runs = UnicodeNfcData.QuickCheckNotYesRuns;
        int lo = 0, hi = runs.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (cp < runs[mid * 2]) hi = mid - 1;
            else if (cp > runs[mid * 2 + 1]) lo = mid + 1;
            else return false;
        }
        return true;
    }

    /// <summary>Appends the full canonical decomposition of <paramref name="cp"/>, keeping combining marks in canonical order.</summary>
    private static void Decompose(int cp, List<int> output)
    {
        if (cp is >= HangulSBase and < HangulSBase + HangulSCount)
        {
            int s = cp - HangulSBase;
            output.Add(HangulLBase + s / HangulNCount);
            output.Add(HangulVBase + s % HangulNCount / HangulTCount);
            if (s % HangulTCount != 0) output.Add(HangulTBase + s % HangulTCount);
            return;
        }
        if (Decompositions.TryGetValue(cp, out var parts))
        {
            Decompose(parts.First, output);
            if (parts.Second >= 0) Decompose(parts.Second, output);
            return;
        }
        int cc = CombiningClass(cp);
        int at = output.Count;
        while (cc != 0 && at > 0 && CombiningClass(output[at - 1]) > cc) at--;
        output.Insert(at, cp);
    }

    /// <summary>Canonical composition in place; returns the composed length.</summary>
    private static int Compose(List<int> points)
    {
        if (points.Count == 0) return 0;
        int starterAt = 0, starter = points[0];
        // A leading non-starter blocks composition with itself.
        int lastClass = CombiningClass(starter) == 0 ? 0 : 256;
        int written = 1;
        for (int i = 1; i < points.Count; i++)
        {
            int cp = points[i], cc = CombiningClass(cp);
            if ((lastClass < cc || lastClass == 0) && TryCompose(starter, cp, out int composite))
            {
                points[starterAt] = starter = composite;
                continue;
            }
            if (cc == 0)
            {
                starterAt = written;
                starter = cp;
            }
            lastClass = cc;
            points[written++] = cp;
        }
        return written;
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        if (first is >= HangulLBase and < HangulLBase + HangulLCount && second is >= HangulVBase and < HangulVBase + HangulVCount)
        {
            composite = HangulSBase + ((first - HangulLBase) * HangulVCount + second - HangulVBase) * HangulTCount;
            return true;
        }
        if (first is >= HangulSBase and < HangulSBase + HangulSCount && (first - HangulSBase) % HangulTCount == 0
            && second is > HangulTBase and < HangulTBase + HangulTCount)
        {
            composite = first + second - HangulTBase;
            return true;
        }
        return Compositions.TryGetValue(Pair(first, second), out composite);
    }

    private static long Pair(int first, int second) => (long)first << 21 | (uint)second;
}
