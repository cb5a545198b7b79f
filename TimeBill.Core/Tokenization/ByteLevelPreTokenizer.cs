using System.Text;

namespace TimeBill.Core.Tokenization;

/// <summary>
/// The pre-tokenizer of a byte-level BPE: the Split steps in order, then the ByteLevel step, which may put a space
/// before each piece that does not start with one and may split with GPT-2's pattern. Mapping the pieces' bytes
/// into the byte-level alphabet is left to the caller.
/// </summary>
internal sealed class ByteLevelPreTokenizer
{
    /// <summary>The pattern the ByteLevel step splits with when its <c>use_regex</c> is set.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly IReadOnlyList<RegexSplitter> _splits;
    private readonly bool _addPrefixSpace;
    private readonly RegexSplitter? _byteLevelSplit;

    /// <summary>A pre-tokenizer running <paramref name="splits"/> and then the ByteLevel step.</summary>
    public ByteLevelPreTokenizer(IReadOnlyList<RegexSplitter> splits, bool addPrefixSpace, RegexSplitter? byteLevelSplit)
    {
        _splits = splits;
        _addPrefixSpace = addPrefixSpace;
        _byteLevelSplit = byteLevelSplit;
    }

    /// <summary>
    /// Cuts <paramref name="text"/> into pre-tokens, appended to <paramref name="pieces"/> as ranges of the returned
    /// text: <paramref name="text"/> itself, or a copy with the prefix spaces added.
    /// </summary>
    public ReadOnlySpan<char> PreTokenize(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        var current = new List<(int Start, int Length)>();
        if (!text.IsEmpty) current.Add((0, text.Length));
        foreach (var split in _splits) current = Apply(split, text, current);
        if (_addPrefixSpace) text = AddPrefixSpaces(text, current);
        if (_byteLevelSplit is not null) current = Apply(_byteLevelSplit, text, current);
        pieces.AddRange(current);
        return text;
    }

    private static List<(int Start, int Length)> Apply(RegexSplitter split, ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        var next = new List<(int Start, int Length)>(pieces.Count * 2);
        foreach (var piece in pieces) split.Split(text, piece, next);
        return next;
    }

    /// <summary>Rewrites <paramref name="pieces"/> into a new text where each starts with a space.</summary>
    private static string AddPrefixSpaces(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        var builder = new StringBuilder(text.Length + pieces.Count);
        for (int i = 0; i < pieces.Count; i++)
        {
            var (start, length) = pieces[i];
            int at = builder.Length;
            if (text[start] != ' ') builder.Append(' ');
            builder.Append(text.Slice(start, length));
            pieces[i] = (at, builder.Length - at);
        }
        return builder.ToString();
    }
}
