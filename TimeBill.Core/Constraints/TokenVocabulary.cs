using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using TimeBill.Core.Tokenization;

namespace TimeBill.Core.Constraints;

/// <summary>
/// The bytes each token id stands for, as constraints see a vocabulary, and the trie of them. Special tokens and ids
/// without a byte form have no bytes: a constraint never allows them (a response's end tokens are allowed apart).
/// <see cref="For"/> builds it once per tokenizer and keeps it as long as the tokenizer lives.
/// </summary>
internal sealed class TokenVocabulary
{
    private static readonly ConditionalWeakTable<TextTokenizer, TokenVocabulary> Cache = [];
    private readonly byte[]?[] _bytes;
    private readonly Lazy<TokenTrie> _trie;

    /// <summary>A vocabulary from each id's bytes (null or empty: the id is never allowed).</summary>
    public TokenVocabulary(IReadOnlyList<byte[]?> tokenBytes)
    {
        ArgumentNullException.ThrowIfNull(tokenBytes);
        _bytes = [.. tokenBytes];
        _trie = new(() => new TokenTrie(_bytes));
    }

    /// <summary>How many ids there are (the ones a tokenizer defines; model logits past them are never allowed).</summary>
    public int Count => _bytes.Length;

    /// <summary>The bytes of <paramref name="id"/>; empty for special tokens, ids without a byte form and ids past <see cref="Count"/>.</summary>
    public ReadOnlySpan<byte> Bytes(int id) => (uint)id < (uint)_bytes.Length ? _bytes[id] : default;

    internal TokenTrie Trie => _trie.Value;

    /// <summary>
    /// The vocabulary of <paramref name="tokenizer"/>: byte-level BPE strings mapped back through the byte-level
    /// alphabet (added tokens outside it as their UTF-8 text); SentencePiece pieces with <c>▁</c> as a space and
    /// <c>&lt;0xNN&gt;</c> as the byte NN. Built once per tokenizer.
    /// </summary>
    /// <exception cref="NotSupportedException">A tokenizer of neither kind.</exception>
    public static TokenVocabulary For(TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return Cache.GetValue(tokenizer, Build);
    }

    private static TokenVocabulary Build(TextTokenizer tokenizer)
    {
        if (!tokenizer.IsByteLevel && !tokenizer.IsSentencePiece)
            throw new NotSupportedException("constraints need a byte-level BPE (tokenizer.json) or SentencePiece tokenizer.");
        var special = tokenizer.SpecialTokens.Values.ToHashSet();
        int count = Math.Max(tokenizer.VocabularySize, special.Count == 0 ? 0 : special.Max() + 1);
        var bytes = new byte[]?[count];
        var byteTokens = new List<int>();
        for (int id = 0; id < count; id++)
        {
            if (special.Contains(id) || tokenizer.IdToToken(id) is not { Length: > 0 } token) continue;
            bool isByteToken = false;
            bytes[id] = tokenizer.IsByteLevel ? ByteLevelBytes(token) : SentencePieceBytes(token, out isByteToken);
            if (isByteToken) byteTokens.Add(id);
        }
        // SentencePiece falls back to a byte token only for a character it has no piece for; a response that starts with
        // byte tokens also decodes differently (the next piece's space is dropped), so ASCII byte tokens with a piece
        // of their own are left out.
        var fallback = byteTokens.ToHashSet();
        var pieces = Enumerable.Range(0, count).Where(id => bytes[id] is { Length: 1 } && !fallback.Contains(id)).Select(id => bytes[id]![0]).ToHashSet();
        foreach (int id in byteTokens)
            if (bytes[id]![0] < 0x80 && pieces.Contains(bytes[id]![0])) bytes[id] = null;
        return new TokenVocabulary(bytes);
    }

    private static byte[] ByteLevelBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
            if (!ByteLevelAlphabet.TryGetByte(token[i], out bytes[i])) return Encoding.UTF8.GetBytes(token); // an added token's text
        return bytes;
    }

    private static byte[] SentencePieceBytes(string piece, out bool isByteToken)
    {
        byte value = 0;
        isByteToken = piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
        return isByteToken ? [value] : Encoding.UTF8.GetBytes(piece.Replace('▁', ' '));
    }
}
