using TimeBill.Core.Tokenization;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Tokenization;

/// <summary>Token ids equal the reference SentencePiece encodings exactly; decoding round-trips.</summary>
public sealed class TokenizerParityTests
{
    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (reference, model, field) in new[] { ("stories260K", "stories260K", "tokenizer_cases"), ("llama2-tokenizer", "llama2-tokenizer", "cases") })
            for (int i = 0; i < SharedAssets.Reference(reference).GetProperty(field).GetArrayLength(); i++)
                data.Add(reference, model, $"{field}:{i}");
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeEqualsReferenceAndDecodeRoundTrips(string reference, string model, string caseKey)
    {
        var (field, index) = (caseKey.Split(':')[0], int.Parse(caseKey.Split(':')[1]));
        var item = SharedAssets.Reference(reference).GetProperty(field)[index];
        var tokenizer = TextTokenizer.Load(SharedAssets.Model(model));

        int[] ids = tokenizer.Encode(item.GetProperty("text").GetString()!);
        Assert.Equal(item.Ints("ids"), ids);
        Assert.Equal(item.GetProperty("decoded").GetString(), tokenizer.Decode(ids));
    }

    [Fact]
    public void PromptEncodingPrependsBosAsTheReferenceDoes()
    {
        var reference = SharedAssets.Reference("stories260K").GetProperty("cases")[0];
        var tokenizer = TextTokenizer.Load(SharedAssets.Model("stories260K"));
        Assert.Equal(reference.Ints("input_ids"), tokenizer.EncodePrompt(reference.GetProperty("prompt").GetString()!));
    }

    [Theory]
    [InlineData("stories260K")]
    [InlineData("llama2-tokenizer")]
    public void StreamingDecodeNeverEmitsHalfACharacterAndConcatenatesToTheWholeDecode(string model)
    {
        var tokenizer = TextTokenizer.Load(SharedAssets.Model(model));
        const string text = "Unicode: café, naïve, 日本語, emoji 🙂 and  two  spaces\nnew line";
        int[] ids = tokenizer.Encode(text);
        var stream = tokenizer.CreateStreamingDecoder();
        var pieces = ids.Select(stream.Push).ToList();
        pieces.Add(stream.Flush());

        Assert.All(pieces, p => Assert.DoesNotContain('\uFFFD', p));
        Assert.All(pieces.Where(p => p.Length > 0), p => Assert.False(char.IsHighSurrogate(p[^1]), $"piece '{p}' ends inside a surrogate pair"));
        Assert.Equal(tokenizer.Decode(ids), string.Concat(pieces));
        Assert.Equal(text, string.Concat(pieces));
    }

    [Fact]
    public void SentencePieceVocabularyAndSpecialTokensAreExposed()
    {
        var tokenizer = TextTokenizer.Load(SharedAssets.Model("stories260K"));
        int[] ids = tokenizer.EncodePrompt("Once upon a time");

        Assert.Equal(512, tokenizer.VocabularySize);
        Assert.Equal(("<s>", 1), (tokenizer.BosToken, tokenizer.BosTokenId));
        Assert.Equal(("</s>", 2), (tokenizer.EosToken, tokenizer.EosTokenId));
        Assert.Equal("<s>", tokenizer.IdToToken(1));
        Assert.Equal("▁Once", tokenizer.IdToToken(ids[1]));
        Assert.Equal(ids[1], tokenizer.TokenToId("▁Once"));
        Assert.Equal(2, tokenizer.SpecialTokens["</s>"]);
        Assert.Equal("<s>", tokenizer.SpecialTokensMap["bos_token"]);
        Assert.Equal("Once upon a time", tokenizer.Decode(ids));
        Assert.Equal("<s>Once upon a time", tokenizer.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void MissingTokenizerFileIsNamed()
    {
        string folder = Directory.CreateTempSubdirectory().FullName;
        var error = Assert.Throws<TimeBill.Core.Checkpoints.ModelLoadException>(() => TextTokenizer.Load(folder));
        Assert.Contains("tokenizer.model", error.Message);
    }
}
