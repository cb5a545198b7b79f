using System.Text.Json;
using TimeBill.Core.Decoding;
using TimeBill.Core.Model;
using TimeBill.Tests.Cli;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Gguf;

/// <summary>A safetensors folder quantized at load (<see cref="ModelLoadOptions.Weights"/>) is the model <c>convert</c> writes in that type.</summary>
public sealed class QuantizeOnLoadTests(GgufFilesFixture files) : IClassFixture<GgufFilesFixture>
{
    [Theory]
    [InlineData("stories260K", WeightFormat.Q8_0, "q8_0")]
    [InlineData("stories260K", WeightFormat.Q4_0, "q4_0")]
    [InlineData("tiny-random-qwen2", WeightFormat.Q8_0, "q8_0")]
    [InlineData("tiny-random-qwen3", WeightFormat.Q4_0, "q4_0")]
    [InlineData("tiny-random-llama31", WeightFormat.BFloat16, "bf16")]
    [InlineData("tiny-random-llama31", WeightFormat.Float16, "f16")]
    public void Quantized_at_load_gives_the_logits_of_the_converted_file_bit_for_bit(string model, WeightFormat format, string type)
    {
        using var loaded = CausalLanguageModel.Load(SharedAssets.Model(model), new ModelLoadOptions { Weights = format });
        using var file = CausalLanguageModel.Load(files.Get(model, type));
        // Same types per matrix, rows that are not whole blocks included (stories260K's 172-wide down projections are F16).
        Assert.Equal(file.Weights.Matrices.Select(m => m.Format), loaded.Weights.Matrices.Select(m => m.Format));
        Assert.All(loaded.Weights.Matrices, m => Assert.Null(m.Float32));
        Assert.Equal(file.Weights.Bytes, loaded.Weights.Bytes);

        int[] ids = SharedAssets.Reference(model).GetProperty("cases")[0].Ints("input_ids");
        using var a = loaded.CreateCache(ids.Length + 8);
        using var b = file.CreateCache(ids.Length + 8);
        using var ours = loaded.Forward(ids, a, allLogits: true);
        using var theirs = file.Forward(ids, b, allLogits: true);
        Assert.Equal(theirs.data<float>().ToArray(), ours.data<float>().ToArray());

        // Decode steps on the kernels over the quantized bytes, in place, as over the file's.
        using var decodeA = new KernelDecoder(loaded);
        using var decodeB = new KernelDecoder(file);
        var logitsA = new float[loaded.Config.VocabSize];
        var logitsB = new float[file.Config.VocabSize];
        foreach (int token in ids[..4])
        {
            decodeA.Step(token, a, logitsA);
            decodeB.Step(token, b, logitsB);
            Assert.Equal(logitsB, logitsA);
        }
    }

    [Fact]
    public void Float32_widens_a_gguf_file_and_stored_keeps_its_blocks()
    {
        string path = files.Get("stories260K", "q8_0");
        using var widened = CausalLanguageModel.Load(path, new ModelLoadOptions { Weights = WeightFormat.Float32 });
        Assert.All(widened.Weights.Matrices, m => Assert.Equal("f32", m.Format));
        using var stored = CausalLanguageModel.Load(path, ModelLoadOptions.Default);
        Assert.Contains(stored.Weights.Matrices, m => m.Format == "q8_0");
        int[] ids = [1, 403, 407, 261];
        using var a = widened.CreateCache(ids.Length);
        using var b = stored.CreateCache(ids.Length);
        // Widening is exact: every row of every matrix equals the stored blocks' dequantized row.
        var row = new float[widened.Config.HiddenSize];
        foreach (var (w, q) in widened.Weights.Matrices.Zip(stored.Weights.Matrices))
            for (int r = 0; r < w.Rows; r += Math.Max(1, w.Rows / 16))
            {
                if (row.Length != w.Cols) row = new float[w.Cols];
                q.DequantizeRow(r, row);
                using var expected = w.Float32![r].contiguous();
                Assert.Equal(expected.data<float>().ToArray(), row);
            }
        // The stored path multiplies the blocks with 8-bit activations (as llama.cpp does): within their rounding of the float32 product.
        using var x = widened.Forward(ids, a, allLogits: true);
        using var y = stored.Forward(ids, b, allLogits: true);
        double error = (x - y).abs().max().item<float>() / x.abs().max().item<float>();
        double bound = (3 * widened.Config.LayerCount + 1) * Math.Pow(2, -7);
        Assert.True(error <= bound, $"stored q8_0 differs from its float32 widening by {error:E2} of the largest logit (bound {bound:E1})");
        Assert.Equal(x.argmax(-1).data<long>().ToArray(), y.argmax(-1).data<long>().ToArray());
    }

    [Fact]
    public void Bad_weight_formats_are_refused_with_a_clear_message()
    {
        string folder = SharedAssets.Model("stories260K");
        var undefined = Assert.ThrowsAny<ArgumentException>(() => CausalLanguageModel.Load(folder, new ModelLoadOptions { Weights = (WeightFormat)42 }));
        Assert.Contains("Q8_0", undefined.Message);
        var unknown = Assert.Throws<ArgumentException>(() => ModelLoadOptions.ParseWeights("q5_1"));
        Assert.Contains("'q5_1' is not one of stored, f32, f16, bf16, q8_0, q4_0", unknown.Message);
        Assert.Equal(WeightFormat.Q4_0, ModelLoadOptions.ParseWeights("Q4_0"));
        var gguf = Assert.Throws<ArgumentException>(() => CausalLanguageModel.Load(files.Get("stories260K", "f32"), new ModelLoadOptions { Weights = WeightFormat.Q8_0 }));
        Assert.Contains("GGUF file keeps the types it was written in", gguf.Message);
        Assert.Throws<ArgumentNullException>(() => CausalLanguageModel.Load(folder, null!));
    }

    [Fact]
    public void Cli_weights_option_quantizes_and_rejects_unknown_names()
    {
        string folder = SharedAssets.Model("stories260K");
        var (code, output, errors) = CliTests.Run("forward", "--model", folder, "--weights", "q8_0", "--ids", "1,403,407", "--json");
        Assert.True(code == 0, errors);
        using var lm = CausalLanguageModel.Load(files.Get("stories260K", "q8_0"));
        using var cache = lm.CreateCache(3);
        using var logits = lm.Forward([1, 403, 407], cache, allLogits: true);
        var last = JsonDocument.Parse(output).RootElement.GetProperty("last_logits").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(logits[-1].data<float>().ToArray(), last);

        (code, _, errors) = CliTests.Run("forward", "--model", folder, "--weights", "q5", "--ids", "1");
        Assert.Equal(2, code);
        Assert.Contains("weight format 'q5' is not one of", errors);
    }
}
