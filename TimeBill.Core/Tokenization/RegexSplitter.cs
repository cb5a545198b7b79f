using System.Buffers;
using System.Globalization;
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
        var span = text.Slice(piece.Start, piece.Length);
        var writer = new PieceWriter(_behavior, output, piece.Start);
        if (span.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            Cut(span, null, ref writer);
            return;
        }
        char[] standIn = ArrayPool<char>.Shared.Rent(span.Length);
        int[] offsets = ArrayPool<int>.Shared.Rent(span.Length + 1);
        int length = 0;
        for (int i = 0; i < span.Length; i++)
        {
            offsets[length] = i;
            standIn[length++] = char.IsHighSurrogate(span[i]) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1])
                ? StandIns[(int)CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(span[i], span[++i]))]
                : span[i];
        }
        offsets[length] = span.Length;
        Cut(standIn.AsSpan(0, length), offsets, ref writer);
        ArrayPool<char>.Shared.Return(standIn);
        ArrayPool<int>.Shared.Return(offsets);
    }

    /// <summary>Hands the matches and the gaps between them, covering <paramref name="text"/>, to the writer in order.</summary>
    private void Cut(ReadOnlySpan<char> text, int[]? offsets, ref PieceWriter writer)
    {
        int previous = 0;
        foreach (var match in _regex.EnumerateMatches(text))
        {
            int start = offsets?[match.Index] ?? match.Index, end = offsets?[match.Index + match.Length] ?? match.Index + match.Length;
            if (previous < start) writer.Add(previous, start, _invert);
            writer.Add(start, end, !_invert);
            previous = end;
        }
        int length = offsets?[text.Length] ?? text.Length;
        if (previous < length) writer.Add(previous, length, _invert);
        writer.Finish();
    }

    /// <summary>Turns matches and gaps into pieces by the behavior, as tokenizers' <c>NormalizedString::split</c> does.</summary>
    private struct PieceWriter(SplitBehavior behavior, List<(int Start, int Length)> output, int origin)
    {
        private readonly int _first = output.Count;
        private bool _previousMatch, _hasEmpty;
        private int _pendingStart = -1, _pendingEnd;

        public void Add(int start, int end, bool match)
        {
            if (behavior == SplitBehavior.MergedWithNext)
            {
                // A match waits for the piece after it and joins it, unless that is a match too.
                if (match)
                {
                    if (_pendingStart >= 0) Emit(_pendingStart, _pendingEnd);
                    (_pendingStart, _pendingEnd) = (start, end);
                }
                else
                {
                    Emit(_pendingStart >= 0 ? _pendingStart : start, end);
                    _pendingStart = -1;
                }
                return;
            }
            bool merge = output.Count > _first && behavior switch
            {
                SplitBehavior.MergedWithPrevious => match && !_previousMatch,
                SplitBehavior.Contiguous => match == _previousMatch,
                _ => false,
            };
            _previousMatch = match;
            if (behavior == SplitBehavior.Removed && match) return;
            if (merge) output[^1] = (output[^1].Start, origin + end - output[^1].Start);
            else Emit(start, end);
        }

        public void Finish()
        {
            if (_pendingStart >= 0) Emit(_pendingStart, _pendingEnd);
            if (_hasEmpty) output.RemoveAll(p => p.Length == 0);
        }

        private void Emit(int start, int end)
        {
            _hasEmpty |= end == start;
            output.Add((origin + start, end - start));
        }
    }
}
