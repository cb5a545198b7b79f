using TimeBill.Core.Tokenization;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Tokenization;

/// <summary>Streaming decoding of byte-level BPE ids: whole characters only, pieces adding up to the whole decode.</summary>
public sealed class ByteLevelStreamingTests
{
    private static List<string> Stream(TextTokenizer tokenizer, IEnumerable<int> ids)
    {
        var stream = tokenizer.CreateStreamingDecoder();
        var pieces = ids.Select(stream.Push).ToList();
        pieces.Add(stream.Flush());
        return pieces;
    }

    private static void AssertWholeCharacters(IEnumerable<string> pieces)
    {
        foreach (string piece in pieces.Where(p => p.Length > 0))
        {
            Assert.False(char.IsHighSurrogate(piece[^1]), $"piece '{piece}' ends inside a surrogate pair");
            Assert.False(char.IsLowSurrogate(piece[0]), $"piece '{piece}' starts inside a surrogate pair");
        }
    }

    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void PiecesAreWholeCharactersAndConcatenateToTheWholeDecode(string model)
    {
        var tokenizer = SharedTokenizers.Get(model);
        const string text = "Unicode: café, naïve, 日本語, 한국어, emoji 🙂 👨‍👩‍👧‍👦 🇩🇪 👍🏽 and  two  spaces\nnew line 𠮷野家";
        int[] ids = tokenizer.Encode(text);
        var pieces = Stream(tokenizer, ids);

        Assert.All(pieces, p => Assert.DoesNotContain('\uFFFD', p));
        AssertWholeCharacters(pieces);
        Assert.Equal(tokenizer.Decode(ids), string.Concat(pieces));
        Assert.Equal(text, string.Concat(pieces));
    }

    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void ACharacterSplitOverByteTokensIsHeldBackUntilItCompletes(string model)
    {
        var tokenizer = SharedTokenizers.Get(model);
        // "€" is E2 82 AC, "🙂" is F0 9F 99 82: each byte as its own token.
        int[] ids = [.. tokenizer.Encode("a"), .. ByteTokens(tokenizer, "€"), .. tokenizer.Encode(" b"), .. ByteTokens(tokenizer, "🙂")];
        var pieces = Stream(tokenizer, ids);

        string[] expected = ["a", "", "", "€", " b", "", "", "", "🙂", ""];
        Assert.Equal(expected, pieces);
        Assert.Equal("a€ b🙂", tokenizer.Decode(ids));
    }

    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void BytesThatNeverCompleteDecodeToReplacementCharacters(string model)
    {
        var tokenizer = SharedTokenizers.Get(model);
        int[] truncated = ByteTokens(tokenizer, "🙂")[..2];
        int[] ids = [.. tokenizer.Encode("x"), .. truncated, .. tokenizer.Encode(" y"), .. truncated];
        var pieces = Stream(tokenizer, ids);

        Assert.Equal("x\uFFFD y\uFFFD", tokenizer.Decode(ids));
        Assert.Equal(tokenizer.Decode(ids), string.Concat(pieces));
        Assert.Equal("\uFFFD", pieces[^1]);
        AssertWholeCharacters(pieces);
    }

    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void AReplacementCharacterInTheTextStreamsThrough(string model)
    {
        var tokenizer = SharedTokenizers.Get(model);
        const string text = "U+FFFD \uFFFD is a character too\uFFFD";
        Assert.Equal(text, string.Concat(Stream(tokenizer, tokenizer.Encode(text))));
    }

    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void GreedyContinuationsStreamToTheirReferenceText(string model)
    {
        var tokenizer = SharedTokenizers.Get(model);
        foreach (var item in SharedAssets.Reference(model).GetProperty("text_cases").EnumerateArray())
        {
            var pieces = Stream(tokenizer, item.Ints("greedy_continuation_ids"));
            Assert.Equal(item.GetProperty("greedy_continuation_text_skip_special").GetString(), string.Concat(pieces));
            AssertWholeCharacters(pieces);
        }
    }

    [Fact]
    public void SpecialTokensAreSkippedAndNonSpecialAddedTokensKept()
    {
        var tokenizer = SharedTokenizers.Get("tiny-random-qwen3");
        var pieces = Stream(tokenizer, tokenizer.Encode("<|im_start|>assistant\n<think>\n好</think><|im_end|>"));
        Assert.Equal("assistant\n<think>\n好</think>", string.Concat(pieces));
    }

    /// <summary>The single-byte tokens of <paramref name="text"/>'s UTF-8 bytes.</summary>
    private static int[] ByteTokens(TextTokenizer tokenizer, string text) =>
        [.. System.Text.Encoding.UTF8.GetBytes(text).Select(b => tokenizer.TokenToId(ByteLevelAlphabet.ToChar(b).ToString())!.Value)];
}
