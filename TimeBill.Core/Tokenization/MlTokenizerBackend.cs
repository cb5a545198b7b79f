using Microsoft.ML.Tokenizers;

namespace TimeBill.Core.Tokenization;

/// <summary>A Microsoft.ML.Tokenizers tokenizer (the SentencePiece <see cref="LlamaTokenizer"/> for tokenizer.model files) behind <see cref="TextTokenizer"/>.</summary>
internal sealed class MlTokenizerBackend : ITokenizerBackend
{
    private readonly Tokenizer _tokenizer;
    private readonly int? _bosTokenId;
    private readonly IReadOnlyDictionary<string, int> _vocabulary;
    private readonly Lazy<Dictionary<int, string>> _tokens;

    /// <summary>Wraps <paramref name="tokenizer"/>; prompts start with <paramref name="bosTokenId"/> when given.</summary>
    public MlTokenizerBackend(Tokenizer tokenizer, int? bosTokenId)
    {
        _tokenizer = tokenizer;
        _bosTokenId = bosTokenId;
        _vocabulary = tokenizer switch
        {
            SentencePieceTokenizer sentencePiece => sentencePiece.Vocabulary,
            BpeTokenizer bpe => bpe.Vocabulary,
            _ => new Dictionary<string, int>(),
        };
        _tokens = new(() => _vocabulary.GroupBy(p => p.Value).ToDictionary(g => g.Key, g => g.First().Key));
        SpecialTokens = tokenizer switch
        {
            SentencePieceTokenizer s => new[] { (s.BeginningOfSentenceToken, s.BeginningOfSentenceId), (s.EndOfSentenceToken, s.EndOfSentenceId), (s.UnknownToken, s.UnknownId) }
                .Concat((s.SpecialTokens ?? new Dictionary<string, int>()).Select(p => (p.Key, p.Value)))
                .DistinctBy(p => p.Item1).ToDictionary(p => p.Item1, p => p.Item2),
            BpeTokenizer bpe => bpe.SpecialTokens ?? new Dictionary<string, int>(),
            _ => new Dictionary<string, int>(),
        };
    }

    /// <summary>Whether the tokenizer is a SentencePiece model.</summary>
    public bool IsSentencePiece => _tokenizer is SentencePieceTokenizer;

    /// <inheritdoc/>
    public int VocabularySize => _vocabulary.Count;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <inheritdoc/>
    public int[] Encode(string text, bool addSpecialTokens)
    {
        var ids = _tokenizer.EncodeToIds(text);
        return addSpecialTokens && _bosTokenId is int bos ? [bos, .. ids] : [.. ids];
    }

    /// <inheritdoc/>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens) => _tokenizer switch
    {
        SentencePieceTokenizer sentencePiece => sentencePiece.Decode(ids, considerSpecialTokens: !skipSpecialTokens),
        BpeTokenizer bpe => bpe.Decode(ids, considerSpecialTokens: !skipSpecialTokens),
        _ => _tokenizer.Decode(ids),
    } ?? "";

    /// <inheritdoc/>
    public string? IdToToken(int id) => _tokens.Value.GetValueOrDefault(id);

    /// <inheritdoc/>
    public int? TokenToId(string token) =>
        SpecialTokens.TryGetValue(token, out int special) ? special : _vocabulary.TryGetValue(token, out int id) ? id : null;
}
