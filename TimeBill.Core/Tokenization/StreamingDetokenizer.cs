namespace TimeBill.Core.Tokenization;

/// <summary>
/// Turns token ids arriving one by one into text pieces, never emitting half a UTF-8 character (SentencePiece
/// byte-fallback tokens, byte-level BPE tokens that end mid-character) and keeping the spacing a whole-sequence
/// decode would give. It decodes a short window of recent ids and emits what the window added, holding text back
/// while it ends in an incomplete character. Windows start at a whole-text token, never at a byte fragment:
/// SentencePiece decoders treat the first text token after leading byte tokens as the sequence start and drop its
/// space.
/// </summary>
public sealed class StreamingDetokenizer
{
    private const char Replacement = '\uFFFD';
    private readonly TextTokenizer _tokenizer;
    private readonly List<int> _ids = [];
    private int _prefixStart;  // window start: decoded text before this is settled
    private int _readStart;    // ids from here on have not been emitted yet
    private readonly Dictionary<int, bool> _isByteFragment = [];

    internal StreamingDetokenizer(TextTokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>Adds one id and returns the text it completes (possibly empty).</summary>
    public string Push(int id)
    {
        _ids.Add(id);
        string before = Decode(_prefixStart, _readStart);
        string after = Decode(_prefixStart, _ids.Count);
        if (after.Length <= before.Length || after[^1] == Replacement) return "";
        int start = _readStart;
        while (start > _prefixStart && IsByteFragment(_ids[start])) start--;
        _prefixStart = IsByteFragment(_ids[start]) ? _prefixStart : start;
        _readStart = _ids.Count;
        return after[before.Length..];
    }

    /// <summary>Text still held back at the end of the stream (an incomplete character decodes to U+FFFD).</summary>
    public string Flush()
    {
        string before = Decode(_prefixStart, _readStart);
        string after = Decode(_prefixStart, _ids.Count);
        _prefixStart = _readStart = _ids.Count;
        return after.Length > before.Length ? after[before.Length..] : "";
    }

    private bool IsByteFragment(int id)
    {
        if (!_isByteFragment.TryGetValue(id, out bool fragment))
            _isByteFragment[id] = fragment = _tokenizer.Decode([id]).Contains(Replacement);
        return fragment;
    }

    private string Decode(int start, int end) => start >= end ? "" : _tokenizer.Decode(_ids.GetRange(start, end - start));
}
