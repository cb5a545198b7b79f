using System.Buffers;
using System.Globalization;
using System.Text;

namespace TimeBill.Core.Tokenization;

/// <summary>
/// Finds added tokens in a text as Hugging Face tokenizers does: leftmost-longest, non-overlapping matches, then each
/// match's <c>single_word</c> check (a rejected match still consumes its text) and <c>lstrip</c>/<c>rstrip</c>
/// widening over whitespace.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly SearchValues<string>? _contents;
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;

    /// <summary>A matcher for <paramref name="tokens"/> (all matched in the same text).</summary>
    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        var list = tokens.ToList();
        _contents = list.Count == 0 ? null : SearchValues.Create(list.Select(t => t.Content).Distinct().ToArray(), StringComparison.Ordinal);
        _byFirstChar = list.GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    /// <summary>One piece of a split text: an added token's id, or -1 for text in between.</summary>
    public readonly record struct Segment(int Start, int Length, int TokenId);

    /// <summary>Splits <paramref name="text"/> into added tokens and the text between them, in order, covering all of it.</summary>
    public void Split(ReadOnlySpan<char> text, List<Segment> output)
    {
        int covered = 0, searchFrom = 0;
        while (_contents is not null && searchFrom < text.Length)
        {
            int found = text[searchFrom..].IndexOfAny(_contents);
            if (found < 0) break;
            int start = searchFrom + found;
            var token = Longest(text, start);
            int stop = start + token.Content.Length;
            searchFrom = stop;
            if (token.SingleWord && (start > 0 && EndsWithWord(text[..start]) || stop < text.Length && StartsWithWord(text[stop..])))
                continue;
            if (token.LStrip) start = Math.Max(start - TrailingWhitespace(text[..start]), covered);
            if (token.RStrip) stop += LeadingWhitespace(text[stop..]);
            if (covered < start) output.Add(new Segment(covered, start - covered, -1));
            output.Add(new Segment(start, stop - start, token.Id));
            covered = stop;
        }
        if (covered < text.Length) output.Add(new Segment(covered, text.Length - covered, -1));
    }

    private AddedToken Longest(ReadOnlySpan<char> text, int start)
    {
        foreach (var token in _byFirstChar[text[start]])
            if (text[start..].StartsWith(token.Content, StringComparison.Ordinal)) return token;
        throw new InvalidOperationException("the search matched a token that no candidate list holds.");
    }

    private static int TrailingWhitespace(ReadOnlySpan<char> text)
    {
        int n = 0;
        while (n < text.Length && char.IsWhiteSpace(text[^(n + 1)])) n++;
        return n;
    }

    private static int LeadingWhitespace(ReadOnlySpan<char> text)
    {
        int n = 0;
        while (n < text.Length && char.IsWhiteSpace(text[n])) n++;
        return n;
    }

    private static bool StartsWithWord(ReadOnlySpan<char> text) =>
        Rune.DecodeFromUtf16(text, out var rune, out _) == OperationStatus.Done && IsWordCharacter(rune);

    private static bool EndsWithWord(ReadOnlySpan<char> text) =>
        Rune.DecodeLastFromUtf16(text, out var rune, out _) == OperationStatus.Done && IsWordCharacter(rune);

    /// <summary>Unicode <c>\w</c> as the Rust regex crate has it: letters, marks, decimal digits, connectors, joiners.</summary>
    private static bool IsWordCharacter(Rune rune) =>
        rune.Value is 0x200C or 0x200D || Rune.GetUnicodeCategory(rune) is UnicodeCategory.UppercaseLetter
            or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter
            or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber or UnicodeCategory.NonSpacingMark
            or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.ConnectorPunctuation;
}
