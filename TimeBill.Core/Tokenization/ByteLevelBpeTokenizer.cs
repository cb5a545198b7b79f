using System.Buffers;
using System.Collections.Concurrent;
using System.Text;

namespace TimeBill.Core.Tokenization;

/// <summary>
/// A tokenizer.json byte-level BPE tokenizer, as Hugging Face tokenizers runs it: added tokens are cut out of the raw
/// text; the rest is normalized (NFC or not at all), pre-tokenized, mapped byte by byte into the byte-level alphabet
/// and merged by the BPE model; prompts get the post-processor's tokens around them. Decoding maps the tokens'
/// characters back to bytes and reads those as UTF-8, replacing incomplete sequences with U+FFFD.
/// </summary>
internal sealed class ByteLevelBpeTokenizer : ITokenizerBackend
{
    // Pre-tokens are mostly words, so a bounded cache of short ones holds nearly every repeat.
    private const int MaxCachedLength = 64, MaxCacheEntries = 100_000;

    private readonly BpeModel _model;
    private readonly bool _nfc;
    private readonly ByteLevelPreTokenizer _preTokenizer;
    private readonly AddedTokenMatcher _rawTokens, _normalizedTokens;
    private readonly bool _hasNormalizedTokens;
    private readonly string?[] _tokenById;
    private readonly bool[] _specialById;
    private readonly Dictionary<string, int> _addedIds;
    private readonly int[] _promptPrefix, _promptSuffix;
    private readonly ConcurrentDictionary<string, int[]> _cache = new();
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheLookup;
    private int _cacheCount;

    /// <summary>Assembles the tokenizer from its parts (read by <see cref="TokenizerJson"/>).</summary>
    /// <param name="model">The BPE model.</param>
    /// <param name="vocabulary">The model's vocabulary (byte-level strings to ids).</param>
    /// <param name="addedTokens">Added tokens, their ids distinct from each other and from other vocabulary entries.</param>
    /// <param name="nfc">Whether text is NFC-normalized before pre-tokenization.</param>
    /// <param name="preTokenizer">The pre-tokenizer.</param>
    /// <param name="promptPrefix">Ids a prompt starts with.</param>
    /// <param name="promptSuffix">Ids a prompt ends with.</param>
    public ByteLevelBpeTokenizer(BpeModel model, IReadOnlyDictionary<string, int> vocabulary, IReadOnlyList<AddedToken> addedTokens,
        bool nfc, ByteLevelPreTokenizer preTokenizer, int[] promptPrefix, int[] promptSuffix)
    {
        _model = model;
        _nfc = nfc;
        _preTokenizer = preTokenizer;
        _promptPrefix = promptPrefix;
        _promptSuffix = promptSuffix;
        _rawTokens = new AddedTokenMatcher(addedTokens.Where(t => !t.Normalized));
        _normalizedTokens = new AddedTokenMatcher(addedTokens.Where(t => t.Normalized));
        _hasNormalizedTokens = addedTokens.Any(t => t.Normalized);
        _addedIds = addedTokens.ToDictionary(t => t.Content, t => t.Id);
        int size = Math.Max(vocabulary.Count == 0 ? 0 : vocabulary.Values.Max(), addedTokens.Count == 0 ? -1 : addedTokens.Max(t => t.Id)) + 1;
        _tokenById = new string?[size];
        _specialById = new bool[size];
        foreach (var (token, id) in vocabulary) _tokenById[id] = token;
        foreach (var token in addedTokens)
        {
            _tokenById[token.Id] = token.Content;
            _specialById[token.Id] = token.Special;
        }
        VocabularySize = _tokenById.Count(t => t is not null);
        SpecialTokens = addedTokens.Where(t => t.Special).ToDictionary(t => t.Content, t => t.Id);
        _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <inheritdoc/>
    public int VocabularySize { get; }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <inheritdoc/>
    public int[] Encode(string text, bool addSpecialTokens)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(_promptPrefix);
        var segments = new List<AddedTokenMatcher.Segment>();
        _rawTokens.Split(text, segments);
        foreach (var segment in segments)
        {
            if (segment.TokenId >= 0) ids.Add(segment.TokenId);
            else EncodeRawText(text.AsSpan(segment.Start, segment.Length), ids);
        }
        if (addSpecialTokens) ids.AddRange(_promptSuffix);
        return [.. ids];
    }

    private void EncodeRawText(ReadOnlySpan<char> raw, List<int> ids)
    {
        ReadOnlySpan<char> text = _nfc && !NfcNormalizer.IsNormalized(raw) ? NfcNormalizer.Normalize(raw) : raw;
        if (!_hasNormalizedTokens)
        {
            EncodeNormalizedText(text, ids);
            return;
        }
        var segments = new List<AddedTokenMatcher.Segment>();
        _normalizedTokens.Split(text, segments);
        foreach (var segment in segments)
        {
            if (segment.TokenId >= 0) ids.Add(segment.TokenId);
            else EncodeNormalizedText(text.Slice(segment.Start, segment.Length), ids);
        }
    }

    private void EncodeNormalizedText(ReadOnlySpan<char> text, List<int> ids)
    {
        var pieces = new List<(int Start, int Length)>();
        var source = _preTokenizer.PreTokenize(text, pieces);
        foreach (var (start, length) in pieces) EncodePreToken(source.Slice(start, length), ids);
    }

    private void EncodePreToken(ReadOnlySpan<char> piece, List<int> ids)
    {
        if (_cacheLookup.TryGetValue(piece, out var cached))
        {
            ids.AddRange(cached);
            return;
        }
        int maxBytes = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rentedBytes = null;
        char[]? rentedChars = null;
        Span<byte> bytes = maxBytes <= 512 ? stackalloc byte[maxBytes] : (rentedBytes = ArrayPool<byte>.Shared.Rent(maxBytes));
        Span<char> symbols = maxBytes <= 512 ? stackalloc char[maxBytes] : (rentedChars = ArrayPool<char>.Shared.Rent(maxBytes));
        int count = Encoding.UTF8.GetBytes(piece, bytes);
        for (int i = 0; i < count; i++) symbols[i] = ByteLevelAlphabet.ToChar(bytes[i]);
        int first = ids.Count;
        _model.Encode(symbols[..count], ids);
        if (rentedBytes is not null) ArrayPool<byte>.Shared.Return(rentedBytes);
        if (rentedChars is not null) ArrayPool<char>.Shared.Return(rentedChars);
        if (piece.Length <= MaxCachedLength && Volatile.Read(ref _cacheCount) < MaxCacheEntries
            && _cacheLookup.TryAdd(piece, ids.GetRange(first, ids.Count - first).ToArray()))
            Interlocked.Increment(ref _cacheCount);
    }

    /// <inheritdoc/>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        var bytes = new ArrayBufferWriter<byte>();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_tokenById.Length || _tokenById[id] is not { } token) continue;
            if (skipSpecialTokens && _specialById[id]) continue;
            AppendBytes(token, bytes);
        }
        return Encoding.UTF8.GetString(bytes.WrittenSpan);
    }

    /// <summary>A token's bytes: its characters read through the byte-level alphabet, or its UTF-8 when one is outside it.</summary>
    private static void AppendBytes(string token, ArrayBufferWriter<byte> output)
    {
        var span = output.GetSpan(Math.Max(token.Length, Encoding.UTF8.GetMaxByteCount(token.Length)));
        for (int i = 0; i < token.Length; i++)
        {
            if (!ByteLevelAlphabet.TryGetByte(token[i], out span[i]))
            {
                output.Advance(Encoding.UTF8.GetBytes(token, span));
                return;
            }
        }
        output.Advance(token.Length);
    }

    /// <inheritdoc/>
    public string? IdToToken(int id) => (uint)id < (uint)_tokenById.Length ? _tokenById[id] : null;

    /// <inheritdoc/>
    public int? TokenToId(string token) =>
        _addedIds.TryGetValue(token, out int added) ? added : _model.TryGetId(token, out int id) ? id : null;
}
