using System.Text.Json;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Tokenization;

/// <summary>The tokenizer.json (byte-level BPE) tokenizers of Qwen3 and Llama 3.1 reproduce transformers exactly.</summary>
public sealed class ByteLevelBpeParityTests
{
    private static string ModelOf(string reference) => reference == "tokenizer-qwen3" ? "tiny-random-qwen3" : "tiny-random-llama31";

    public static TheoryData<string, int> TokenizerCases()
    {
        var data = new TheoryData<string, int>();
        foreach (string reference in new[] { "tokenizer-qwen3", "tokenizer-llama31" })
            for (int i = 0; i < SharedAssets.Reference(reference).GetProperty("cases").GetArrayLength(); i++)
                data.Add(reference, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(TokenizerCases))]
    public void EncodeDecodeAndTokensEqualTheReference(string reference, int index)
    {
        var item = SharedAssets.Reference(reference).GetProperty("cases")[index];
        var tokenizer = SharedTokenizers.Get(ModelOf(reference));
        string text = item.GetProperty("text").GetString()!;
        int[] ids = item.Ints("ids");

        Assert.Equal(ids, tokenizer.Encode(text));
        Assert.Equal(item.Ints("ids_with_special"), tokenizer.EncodePrompt(text));
        Assert.Equal(item.GetProperty("decoded").GetString(), tokenizer.Decode(ids, skipSpecialTokens: false));
        Assert.Equal(item.GetProperty("decoded_skip_special").GetString(), tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.Equal(item.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()), ids.Select(tokenizer.IdToToken));
    }

    public static TheoryData<string, int> TextCases()
    {
        var data = new TheoryData<string, int>();
        foreach (string model in new[] { "tiny-random-qwen3", "tiny-random-llama31" })
            for (int i = 0; i < SharedAssets.Reference(model).GetProperty("text_cases").GetArrayLength(); i++)
                data.Add(model, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(TextCases))]
    public void PromptsGiveTheReferenceIdsAndContinuationsDecodeToTheReferenceText(string model, int index)
    {
        var item = SharedAssets.Reference(model).GetProperty("text_cases")[index];
        var tokenizer = SharedTokenizers.Get(model);
        string prompt = item.GetProperty("prompt").GetString()!;
        int[] continuation = item.Ints("greedy_continuation_ids");

        int[] ids = item.GetProperty("add_special_tokens").GetBoolean() ? tokenizer.EncodePrompt(prompt) : tokenizer.Encode(prompt);
        Assert.Equal(item.Ints("input_ids"), ids);
        Assert.Equal(item.GetProperty("greedy_continuation_text").GetString(), tokenizer.Decode(continuation, skipSpecialTokens: false));
        Assert.Equal(item.GetProperty("greedy_continuation_text_skip_special").GetString(), tokenizer.Decode(continuation, skipSpecialTokens: true));
    }

    /// <summary>Without <c>ignore_merges</c> these words would merge into 3-4 tokens (ids as tokenizers.js gives them).</summary>
    [Theory]
    [InlineData(" jeho", 101503)]
    [InlineData("lardan", 103084)]
    [InlineData(" vi\u1ec7c", 100769)]
    [InlineData("mektedir", 102909)]
    public void Llama3PreTokensInTheVocabularyAreOneTokenWithoutMerging(string text, int id)
    {
        int[] expected = [id];
        Assert.Equal(expected, SharedTokenizers.Get("tiny-random-llama31").Encode(text));
    }

    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void VocabularySizeIsTheReferenceTokenizerLength(string model) =>
        Assert.Equal(SharedAssets.Reference(model).GetProperty("tokenizer_len").GetInt32(), SharedTokenizers.Get(model).VocabularySize);

    [Fact]
    public void Qwen3SpecialTokensComeFromTheTokenizerConfig()
    {
        var tokenizer = SharedTokenizers.Get("tiny-random-qwen3");
        Assert.Null(tokenizer.BosToken);
        Assert.Null(tokenizer.BosTokenId);
        Assert.Equal("<|im_end|>", tokenizer.EosToken);
        Assert.Equal(151645, tokenizer.EosTokenId);
        Assert.Equal(151644, tokenizer.TokenToId("<|im_start|>"));
        Assert.Equal(151667, tokenizer.TokenToId("<think>"));
        Assert.Equal(9707, tokenizer.TokenToId("Hello"));
        Assert.Null(tokenizer.TokenToId("no such token"));
        Assert.Equal("<|endoftext|>", tokenizer.IdToToken(151643));
        Assert.Null(tokenizer.IdToToken(151669));
        Assert.Contains("<|im_start|>", tokenizer.SpecialTokens.Keys);
        Assert.DoesNotContain("<think>", tokenizer.SpecialTokens.Keys);
        Assert.Equal(151645, tokenizer.SpecialTokens["<|im_end|>"]);
    }

    [Fact]
    public void Llama31SpecialTokensComeFromTheTokenizerConfig()
    {
        var tokenizer = SharedTokenizers.Get("tiny-random-llama31");
        Assert.Equal("<|begin_of_text|>", tokenizer.BosToken);
        Assert.Equal(128000, tokenizer.BosTokenId);
        Assert.Equal("<|eot_id|>", tokenizer.EosToken);
        Assert.Equal(128009, tokenizer.EosTokenId);
        Assert.Equal(256, tokenizer.SpecialTokens.Count);
        Assert.Equal(128255, tokenizer.SpecialTokens["<|reserved_special_token_250|>"]);
    }

    [Theory]
    [InlineData("chat-qwen3", "tiny-random-qwen3")]
    [InlineData("chat-llama31", "tiny-random-llama31")]
    public void SpecialTokensMapHoldsTheChatTemplateGlobals(string reference, string model)
    {
        var globals = SharedAssets.Reference(reference).GetProperty("template_globals").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(globals.OrderBy(p => p.Key), SharedTokenizers.Get(model).SpecialTokensMap.OrderBy(p => p.Key));
    }

    [Theory]
    [InlineData("tiny-random-qwen3", "<|im_end|>")]
    [InlineData("tiny-random-llama31", "<|eot_id|>")]
    public void SpecialTokensAreSingleIdsWhereverTheyOccur(string model, string special)
    {
        var tokenizer = SharedTokenizers.Get(model);
        int id = tokenizer.TokenToId(special)!.Value;
        foreach (string text in new[] { $"before{special}after", $"a {special} b", $"x{special}{special}y", $"日本{special}語", $"{special}" })
        {
            int[] ids = tokenizer.Encode(text);
            Assert.Contains(id, ids);
            Assert.Equal(text.Split(special).Length - 1, ids.Count(i => i == id));
            Assert.Equal(text, tokenizer.Decode(ids, skipSpecialTokens: false));
            Assert.Equal(text.Replace(special, ""), tokenizer.Decode(ids));
        }
        int[] expected = [.. tokenizer.Encode("before"), id, .. tokenizer.Encode("after")];
        Assert.Equal(expected, tokenizer.Encode($"before{special}after"));
    }

    [Fact]
    public void Qwen3NonSpecialAddedTokensAreMatchedMidTextAndKeptWhenSkipping()
    {
        var tokenizer = SharedTokenizers.Get("tiny-random-qwen3");
        int[] ids = tokenizer.Encode("so<think>hm</think>ok<tool_call>{}</tool_call>");
        Assert.Equal(new[] { 151667, 151668, 151657, 151658 }, ids.Where(i => i >= 151643));
        Assert.Equal("so<think>hm</think>ok<tool_call>{}</tool_call>", tokenizer.Decode(ids));
    }

    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void EmptyTextHasNoTokensAndPromptsOnlyTheirSpecialTokens(string model)
    {
        var tokenizer = SharedTokenizers.Get(model);
        Assert.Empty(tokenizer.Encode(""));
        int[] prompt = tokenizer.BosTokenId is int bos ? [bos] : [];
        Assert.Equal(prompt, tokenizer.EncodePrompt(""));
        Assert.Equal("", tokenizer.Decode([]));
    }

    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void EveryByteOfTheAlphabetRoundTrips(string model)
    {
        var tokenizer = SharedTokenizers.Get(model);
        for (int b = 0; b < 256; b++)
        {
            string symbol = Core.Tokenization.ByteLevelAlphabet.ToChar((byte)b).ToString();
            int id = tokenizer.TokenToId(symbol) ?? throw new Xunit.Sdk.XunitException($"byte {b:X2} ('{symbol}') has no token");
            Assert.Equal(symbol, tokenizer.IdToToken(id));
            Assert.Equal(b < 0x80 ? ((char)b).ToString() : "\uFFFD", tokenizer.Decode([id]));
        }
    }

    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void TextRoundTripsThroughEncodeAndDecode(string model)
    {
        var tokenizer = SharedTokenizers.Get(model);
        string text = "Mixed: 日本語 한국어 العربية ‍🙂👍🏽 𠮷 𝐀𝟏 \r\n\t  tabs\u00a0nbsp\u3000ideographic \u0000 nul \u200b zwsp ſ'S 'LL "
            + new string(' ', 40) + new string('9', 25) + " done.";
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }
}
