namespace TimeBill.Core.Tokenization;

/// <summary>What <see cref="TextTokenizer"/> needs from a tokenizer implementation.</summary>
internal interface ITokenizerBackend
{
    /// <summary>Ids of <paramref name="text"/>; <paramref name="addSpecialTokens"/> adds what the format puts around a prompt.</summary>
    int[] Encode(string text, bool addSpecialTokens);

    /// <summary>Text of <paramref name="ids"/>.</summary>
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens);

    /// <summary>The vocabulary string of an id, or null.</summary>
    string? IdToToken(int id);

    /// <summary>The id of a vocabulary string or special token, or null.</summary>
    int? TokenToId(string token);

    /// <summary>How many ids the tokenizer defines.</summary>
    int VocabularySize { get; }

    /// <summary>Every special token and its id.</summary>
    IReadOnlyDictionary<string, int> SpecialTokens { get; }
}
