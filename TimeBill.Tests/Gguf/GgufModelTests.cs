using TimeBill.Core.Checkpoints;
using TimeBill.Core.Checkpoints.Gguf;
using TimeBill.Core.ChatTemplates;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Gguf;

/// <summary>A model folder written as GGUF and read back is the same model: shape, weights, tokenizer, chat template.</summary>
public sealed class GgufModelTests(GgufFilesFixture files) : IClassFixture<GgufFilesFixture>
{
    [Theory]
    [InlineData("stories260K")]
    [InlineData("tiny-random-qwen2")]
    [InlineData("tiny-random-llama3-bf16")]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void Float32FileIsTheFolderBitForBit(string model)
    {
        using var folder = CausalLanguageModel.Load(SharedAssets.Model(model));
        using var gguf = CausalLanguageModel.Load(files.Get(model, "f32"));
        // llama3 scaling comes back as the per-frequency divisors llama.cpp files carry; every other field as it was.
        Assert.Equal((folder.Config with { Rope = gguf.Config.Rope }).ShapeHash, gguf.Config.ShapeHash);
        if (folder.Config.Rope.Type != "llama3") Assert.Equal(folder.Config.ShapeHash, gguf.Config.ShapeHash);
        Assert.Equal(folder.GenerationConfig.BosTokenId, gguf.GenerationConfig.BosTokenId);
        Assert.Equal(folder.GenerationConfig.StopTokenIds.Order(), gguf.GenerationConfig.StopTokenIds.Order());
        int[] ids = SharedAssets.Reference(model).GetProperty("cases")[0].Ints("input_ids");
        using var a = folder.CreateCache(ids.Length);
        using var b = gguf.CreateCache(ids.Length);
        using var expected = folder.Forward(ids, a, allLogits: true);
        using var actual = gguf.Forward(ids, b, allLogits: true);
        // The divisors give llama3's frequencies to float32 rounding.
        Assert.True(expected.allclose(actual, rtol: 0, atol: folder.Config.Rope.Type == "llama3" ? 1e-5 : 0));
    }

    [Theory]
    [InlineData("stories260K")]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void TokenizerFromTheFileEncodesAsTheFolderAndLlamaCpp(string model)
    {
        string file = files.Get(model, "f16");
        var folder = TextTokenizer.Load(SharedAssets.Model(model));
        var gguf = TextTokenizer.Load(file);
        var texts = TokenizerTexts(model).ToList();
        Assert.NotEmpty(texts);
        foreach (string text in texts)
        {
            int[] expected = folder.EncodePrompt(text);
            Assert.Equal(expected, gguf.EncodePrompt(text));
            Assert.Equal(folder.Decode(expected), gguf.Decode(expected));
            Assert.Equal(folder.Decode(expected, skipSpecialTokens: false), gguf.Decode(expected, skipSpecialTokens: false));
        }
        Assert.Equal(folder.EosTokenId, gguf.EosTokenId);
        Assert.Equal(folder.BosTokenId, gguf.BosTokenId);
        // llama.cpp's own tokenizer over the same vocabulary, on plain text (its handling of edge whitespace differs).
        foreach (string text in new[] { "Once upon a time, there was a little dog.", "Hello world, how are you?" })
            Assert.Equal(LlamaCppReference.Tokenize(file, text), gguf.EncodePrompt(text));
    }

    private static IEnumerable<string> TokenizerTexts(string model) => model switch
    {
        "stories260K" => SharedAssets.Reference(model).GetProperty("tokenizer_cases").EnumerateArray().Select(c => c.GetProperty("text").GetString()!),
        "tiny-random-qwen3" => SharedAssets.Reference("tokenizer-qwen3").GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("text").GetString()!),
        _ => SharedAssets.Reference("tokenizer-llama31").GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("text").GetString()!),
    };

    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void ChatTemplateFromTheFileRendersAsTheFolders(string model)
    {
        var folder = TextTokenizer.Load(SharedAssets.Model(model)).ChatTemplate!;
        var gguf = TextTokenizer.Load(files.Get(model, "f16")).ChatTemplate;
        Assert.NotNull(gguf);
        ChatTemplateMessage[] messages = [new("system", "You are a robot."), new("user", "Move the arm to (3, 4).")];
        var options = new ChatTemplateOptions { AddGenerationPrompt = true };
        Assert.Equal(folder.Render(messages, options), gguf.Render(messages, options));
    }

    [Fact]
    public void QueryKeyPermutationIsUndoneExactly()
    {
        var values = Enumerable.Range(0, 4 * 8 * 3).Select(i => (float)i).ToArray();
        var permuted = GgufModel.ApplyRotaryPermutation(values, heads: 4, [32, 3]);
        Assert.NotEqual(values, permuted);
        Assert.Equal(values, GgufModel.UndoRotaryPermutation(permuted, heads: 4, [32, 3]));
        // Row h·8 + 2i + j of the file is row h·8 + 4j + i of the checkpoint: head 0's row 1 is its row 4.
        Assert.Equal(values.AsSpan(4 * 3, 3).ToArray(), permuted.AsSpan(1 * 3, 3).ToArray());
    }

    [Fact]
    public void FileWithoutATokenizerSaysSo()
    {
        var e = Assert.Throws<ModelLoadException>(() => TextTokenizer.Load(files.Get("tiny-random-qwen2", "f32")));
        Assert.Contains("no_vocab", e.Message);
    }

    [Theory]
    [InlineData("q8_0", "q8_0")]
    [InlineData("q4_k", "q4_K")]
    [InlineData("bf16", "bf16")]
    [InlineData("f16", "f16")]
    public void QuantizedFileStaysQuantizedInMemory(string type, string format)
    {
        string file = files.GetBlockShape(type);
        using var lm = CausalLanguageModel.Load(file);
        Assert.All(lm.Weights.Matrices, m => Assert.Equal(format, m.Format));
        // Only norms are held as float32 besides the stored blocks: the weights take no more than the file.
        Assert.InRange(lm.Weights.Bytes, new FileInfo(file).Length * 0.95, new FileInfo(file).Length);
    }
}
