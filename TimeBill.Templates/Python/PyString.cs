using System.Globalization;
using System.Text;

namespace TimeBill.Templates.Python;

/// <summary>
/// Python's <c>str</c> semantics over .NET strings: whitespace as <c>str.isspace</c> sees it, and lengths, indices
/// and slices counted in code points (a character outside the BMP is one character, as in Python).
/// </summary>
internal static class PyString
{
    /// <summary>Python's <c>str.isspace</c> for one UTF-16 unit: .NET's white space plus U+001C..U+001F.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    public static bool IsAllSpace(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty) return false;
        foreach (char c in s) if (!IsSpace(c)) return false;
        return true;
    }

    public static string Strip(string s, string? chars, bool left = true, bool right = true)
    {
        Func<char, bool> strip = chars is null ? IsSpace : chars.Contains;
        int start = 0, end = s.Length;
        if (left) while (start < end && strip(s[start])) start++;
        if (right) while (end > start && strip(s[end - 1])) end--;
        return s[start..end];
    }

    /// <summary><c>str.split(sep, maxsplit)</c>; <paramref name="sep"/> null splits on runs of white space.</summary>
    public static List<string> Split(string s, string? sep, long maxSplit)
    {
        var parts = new List<string>();
        if (sep is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && IsSpace(s[i])) i++;
                if (i == s.Length) break;
                if (maxSplit >= 0 && parts.Count == maxSplit)
                {
                    parts.Add(s[i..]);
                    break;
                }
                int start = i;
                while (i < s.Length && !IsSpace(s[i])) i++;
                parts.Add(s[start..i]);
            }
            return parts;
        }
        if (sep.Length == 0) throw new ArgumentException("empty separator");
        int from = 0;
        while (maxSplit < 0 || parts.Count < maxSplit)
        {
            int at = s.IndexOf(sep, from, StringComparison.Ordinal);
            if (at < 0) break;
            parts.Add(s[from..at]);
            from = at + sep.Length;
        }
        parts.Add(s[from..]);
        return parts;
    }

    /// <summary><c>str.rsplit(sep, maxsplit)</c>.</summary>
    public static List<string> RSplit(string s, string? sep, long maxSplit)
    {
        if (maxSplit < 0) return Split(s, sep, maxSplit);
        var parts = new List<string>();
        if (sep is null)
        {
            int i = s.Length;
            while (true)
            {
                while (i > 0 && IsSpace(s[i - 1])) i--;
                if (i == 0) break;
                if (parts.Count == maxSplit)
                {
                    parts.Add(s[..i]);
                    break;
                }
                int end = i;
                while (i > 0 && !IsSpace(s[i - 1])) i--;
                parts.Add(s[i..end]);
            }
        }
        else
        {
            if (sep.Length == 0) throw new ArgumentException("empty separator");
            int to = s.Length;
            while (parts.Count < maxSplit)
            {
                int at = to < sep.Length ? -1 : s.LastIndexOf(sep, to - 1, to, StringComparison.Ordinal);
                if (at < 0) break;
                parts.Add(s[(at + sep.Length)..to]);
                to = at;
            }
            parts.Add(s[..to]);
        }
        parts.Reverse();
        return parts;
    }

    /// <summary><c>str.splitlines()</c>: the line breaks Python knows, ends dropped.</summary>
    public static List<string> SplitLines(string s)
    {
        var lines = new List<string>();
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029')
            {
                lines.Add(s[start..i]);
                if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n') i++;
                start = i + 1;
            }
        }
        if (start < s.Length) lines.Add(s[start..]);
        return lines;
    }

    public static string Lower(string s) => s.ToLowerInvariant();

    public static string Upper(string s) => s.ToUpperInvariant();

    /// <summary><c>str.capitalize()</c>: the first character upper case, the rest lower case.</summary>
    public static string Capitalize(string s)
    {
        if (s.Length == 0) return s;
        int first = char.IsSurrogatePair(s, 0) ? 2 : 1;
        return s[..first].ToUpperInvariant() + s[first..].ToLowerInvariant();
    }

    /// <summary><c>str.title()</c>: a cased character after an uncased one is upper case, other cased ones lower.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (Rune r in s.EnumerateRunes())
        {
            bool cased = Rune.IsUpper(r) || Rune.IsLower(r) || Rune.GetUnicodeCategory(r) == UnicodeCategory.TitlecaseLetter;
            sb.Append((cased ? (previousCased ? Rune.ToLowerInvariant(r) : Rune.ToUpperInvariant(r)) : r).ToString());
            previousCased = cased;
        }
        return sb.ToString();
    }

    /// <summary><c>str.islower()</c> / <c>str.isupper()</c>: some cased character, and none of the other case.</summary>
    public static bool IsCase(string s, bool upper)
    {
        bool anyCased = false;
        foreach (Rune r in s.EnumerateRunes())
        {
            if (upper ? Rune.IsLower(r) : Rune.IsUpper(r)) return false;
            if (upper ? Rune.IsUpper(r) : Rune.IsLower(r)) anyCased = true;
        }
        return anyCased;
    }

    private static bool HasSurrogates(string s)
    {
        foreach (char c in s) if (char.IsSurrogate(c)) return true;
        return false;
    }

    /// <summary>The characters of <paramref name="s"/> as Python iterates them: one string per code point.</summary>
    public static IEnumerable<string> Chars(string s) => HasSurrogates(s) ? CodePoints(s) : s.Select(c => c.ToString());

    /// <summary>The code points of <paramref name="s"/> as strings (a lone surrogate is one).</summary>
    private static string[] CodePoints(string s)
    {
        var points = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                points.Add(s.Substring(i, 2));
                i++;
            }
            else points.Add(s[i].ToString());
        }
        return [.. points];
    }

    /// <summary><c>len(s)</c>.</summary>
    public static int Length(string s) => HasSurrogates(s) ? CodePoints(s).Length : s.Length;

    /// <summary><c>s[i]</c> for an index already made non-negative and checked against <see cref="Length"/>.</summary>
    public static string CharAt(string s, int index) => HasSurrogates(s) ? CodePoints(s)[index] : s[index].ToString();

    /// <summary><c>s[start:stop:step]</c> for bounds already resolved as Python's <c>slice.indices</c> does.</summary>
    public static string Slice(string s, IEnumerable<int> indices)
    {
        var sb = new StringBuilder();
        if (HasSurrogates(s))
        {
            string[] points = CodePoints(s);
            foreach (int i in indices) sb.Append(points[i]);
        }
        else foreach (int i in indices) sb.Append(s[i]);
        return sb.ToString();
    }

    /// <summary>The code point index of the UTF-16 index <paramref name="utf16Index"/>.</summary>
    public static int CodePointIndex(string s, int utf16Index)
    {
        int n = 0;
        for (int i = 0; i < utf16Index; i++)
            if (!(char.IsLowSurrogate(s[i]) && i > 0 && char.IsHighSurrogate(s[i - 1]))) n++;
        return n;
    }

    /// <summary>The UTF-16 index of the code point index <paramref name="codePointIndex"/> (at most the length).</summary>
    public static int Utf16Index(string s, int codePointIndex)
    {
        int i = 0;
        for (int n = 0; n < codePointIndex && i < s.Length; n++)
            i += char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
        return i;
    }

    /// <summary>Compares by code point, as Python orders strings.</summary>
    public static int Compare(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            if (a[i] == b[i]) continue;
            bool sa = char.IsSurrogate(a[i]), sb = char.IsSurrogate(b[i]);
            if (sa != sb) return sa ? 1 : -1; // a surrogate stands for a code point above every BMP unit
            return a[i].CompareTo(b[i]);
        }
        return a.Length.CompareTo(b.Length);
    }

    /// <summary><c>str.center(width)</c>, padding as CPython splits it.</summary>
    public static string Center(string s, int width, char fill = ' ')
    {
        int length = Length(s);
        if (width <= length) return s;
        int margin = width - length;
        int left = margin / 2 + (margin & width & 1);
        return new string(fill, left) + s + new string(fill, margin - left);
    }

    /// <summary><c>repr(s)</c>: single quotes unless the text has one and no double quote; escapes as Python writes them.</summary>
    public static string Repr(string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder(s.Length + 2).Append(quote);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == quote || c == '\\') sb.Append('\\').Append(c);
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c == '\t') sb.Append("\\t");
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                int cp = char.ConvertToUtf32(c, s[i + 1]);
                if (IsPrintable(cp)) sb.Append(c).Append(s[i + 1]);
                else sb.Append(CultureInfo.InvariantCulture, $"\\U{cp:x8}");
                i++;
            }
            else if (IsPrintable(c)) sb.Append(c);
            else if (c < 0x100) sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            else sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
        }
        return sb.Append(quote).ToString();
    }

    /// <summary>Python's <c>str.isprintable</c> for one code point: not a control, separator (but space), format or unassigned character.</summary>
    private static bool IsPrintable(int codePoint)
    {
        if (codePoint == ' ') return true;
        if (codePoint is >= 0xD800 and <= 0xDFFF) return false;
        return CharUnicodeInfo.GetUnicodeCategory(codePoint) switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.SpaceSeparator => false,
            _ => true,
        };
    }
}
