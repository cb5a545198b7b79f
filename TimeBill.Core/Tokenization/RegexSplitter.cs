using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace TimeBill.Core.Tokenization;

/// <summary>
/// One Split pre-tokenizer: cuts a piece where a regular expression matches, then keeps, drops or merges the matches
/// by <see cref="SplitBehavior"/>. .NET regexes see a supplementary character as two surrogates of category Cs, where
/// tokenizers' Oniguruma sees one code point of its own category (a letter, a digit, an emoji), so text with
/// surrogates is matched in a copy holding one stand-in character of the same category per code point.
/// </summary>
internal sealed class RegexSplitter
{
    /// <summary>A BMP character of each general category (indexed by <see cref="UnicodeCategory"/>) that patterns do not name literally.</summary>
    internal static readonly char[] StandIns =
    [
        'À', 'à', 'ǅ', 'ʰ', 'א', '\u0300', '\u0903', '\u20DD', '٠', 'Ⅰ', '²', '\u2000', '\u2028', '\u2029', '\u0001', '\u2060',
        '\uD800', '\uE000', '‿', '‐', '⁅', '⁆', '«', '»', '¡', '×', '¢', '¨', '©', '\u0378',
    ];

    private readonly Regex _regex;
    private readonly SplitBehavior _behavior;
    private readonly bool _invert;

    /// <summary>A splitter on <paramref name="regex"/>; <paramref name="invert"/> swaps what counts as a match.</summary>
    public RegexSplitter(Regex regex, SplitBehavior behavior, bool invert)
    {
        _regex = regex;
        _behavior = behavior;
        _invert = invert;
    }

    /// <summary>Splits <paramref name="piece"/> of <paramref name="text"/>, appending the non-empty results as ranges of <paramref name="text"/>.</summary>
    public void Split(ReadOnlySpan<char> text, (int Start, int Length) piece, List<(int Start, int Length)> output)
    {
        var marked = new List<(int Start, int End, bool IsMatch)>();
        FindMatches(text.Slice(piece.Start, piece.Length), marked);
        var kept = new List<(int Start, int End)>(marked.Count);
        bool previousMatch = false;
        IEnumerable<(int Start, int End, bool IsMatch)> order = _behavior == SplitBehavior.MergedWithNext ? Enumerable.Reverse(marked) : marked;
        foreach (var (start, end, isMatch) in order)
        {
            bool match = isMatch != _invert;
            bool merge = kept.Count > 0 && _behavior switch
            {
                SplitBehavior.MergedWithPrevious or SplitBehavior.MergedWithNext => match && !previousMatch,
                SplitBehavior.Contiguous => match == previousMatch,
                _ => false,
            };
            previousMatch = match;
            if (_behavior == SplitBehavior.Removed && match) continue;
            if (!merge) kept.Add((start, end));
            else if (_behavior == SplitBehavior.MergedWithNext) kept[^1] = (start, kept[^1].End);
            else kept[^1] = (kept[^1].Start, end);
        }
        if (_behavior == SplitBehavior.MergedWithNext) kept.Reverse();
        foreach (var (start, end) in kept)
            if (end > start) output.Add((piece.Start + start, end - start));
    }

    /// <summary>Matches and the gaps between them, covering <paramref name="text"/>, in order.</summary>
    private void FindMatches(ReadOnlySpan<char> text, List<(int Start, int End, bool IsMatch)> marked)
    {
        if (text.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            AddMatches(text, null, marked);
            return;
        }
        var standIn = new StringBuilder(text.Length);
        var offsets = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            offsets.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                standIn.Append(StandIns[(int)CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[++i]))]);
            else standIn.Append(text[i]);
        }
        offsets.Add(text.Length);
        AddMatches(standIn.ToString(), offsets, marked);
    }

    private void AddMatches(ReadOnlySpan<char> text, List<int>? offsets, List<(int Start, int End, bool IsMatch)> marked)
    {
        int previous = 0;
        foreach (var match in _regex.EnumerateMatches(text))
        {
            int start = offsets?[match.Index] ?? match.Index, end = offsets?[match.Index + match.Length] ?? match.Index + match.Length;
            if (previous < start) marked.Add((previous, start, false));
            marked.Add((start, end, true));
            previous = end;
        }
        int length = offsets?[^1] ?? text.Length;
        if (previous < length) marked.Add((previous, length, false));
    }
}
