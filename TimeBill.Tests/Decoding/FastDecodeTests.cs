using TimeBill.Core.Cache;
using TimeBill.Core.Decoding;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;
using TimeBill.Tests.Support;
using static TorchSharp.torch;

namespace TimeBill.Tests.Decoding;

/// <summary>The decode kernels reproduce libtorch's logits on the shared models, before and after eviction, and generation on them the references.</summary>
[Collection(ModelCollection.Name)]
public sealed class FastDecodeTests(ModelFixture models)
{
    private const int Steps = 20;
    /// <summary>float32 parity: both paths compute the same float32 arithmetic in a different order.</summary>
    private const double Float32Tolerance = 1e-4;
    /// <summary>
    /// bfloat16 weights keep 8 significant bits (relative rounding ≤ 2⁻⁹); on these models the logits then move by
    /// up to a few hundredths, so the bound is 0.1 absolute and the argmax must agree wherever the float32 top two
    /// are further apart than twice that.
    /// </summary>
    private const double BFloat16Tolerance = 0.1;

    public static TheoryData<string, bool> Cases() => new()
    {
        { "stories260K", false }, { "stories260K", true },
        { "tiny-random-qwen2", false }, { "tiny-random-qwen2", true },
        { "tiny-random-llama3-bf16", false }, { "tiny-random-llama3-bf16", true },
        { "tiny-random-qwen3", false }, { "tiny-random-qwen3", true },
        { "tiny-random-llama31", false }, { "tiny-random-llama31", true },
        { "tiny-random-mistral-swa", false }, { "tiny-random-mistral-swa", true },
    };

    /// <summary>The bfloat16 tolerance's cases: on Mistral's windowed, evicted cache rounding alone moves a logit by 0.13 (see below).</summary>
    public static TheoryData<string, bool> BFloat16Cases()
    {
        var cases = new TheoryData<string, bool>();
        foreach (var row in Cases())
            if (!((string)row[0] == "tiny-random-mistral-swa" && (bool)row[1])) cases.Add((string)row[0], (bool)row[1]);
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void KernelStepsMatchTorchSteps(string name, bool evict) => AssertParity(name, evict, bfloat16: false);

    [Theory]
    [MemberData(nameof(BFloat16Cases))]
    public void BFloat16KernelStepsStayCloseAndKeepTheArgmax(string name, bool evict) => AssertParity(name, evict, bfloat16: true);

    /// <summary>
    /// What separates the bfloat16 kernels from float32 libtorch is the rounding of the weights alone: with the libtorch
    /// model's matrices rounded to bfloat16 the two agree to float32 precision, on every model, evicted or not.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void BFloat16KernelStepsEqualTorchStepsOnRoundedWeights(string name, bool evict)
    {
        using var model = CausalLanguageModel.Load(SharedAssets.Model(name));
        using (no_grad())
        {
            // A tied head rounds the embeddings too; the decoder, built afterwards, copies them as rounded.
            var matrices = model.Weights.Matrices.Select(m => m.Float32!);
            foreach (var matrix in matrices) matrix.copy_(matrix.to(ScalarType.BFloat16).to(ScalarType.Float32));
        }
        using var decoder = new KernelDecoder(model, bfloat16Weights: true);
        AssertParity(model, decoder, name, evict, Float32Tolerance);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ShallowKernelStepsMatchShallowTorchSteps(string name, bool evict)
    {
        // Each step runs a different depth ℓ; the layers above ℓ get K/V projected from the exited hidden state.
        var model = models.Get(name);
        var decoder = models.Kernels(name);
        int layers = model.Config.LayerCount;
        int[] ids = SharedAssets.Reference(name).GetProperty("cases")[1].Ints("input_ids");
        using var torchCache = model.CreateCache(ids.Length + Steps);
        using var kernelCache = model.CreateCache(ids.Length + Steps);
        using (model.Forward(ids, torchCache)) { }
        using (model.Forward(ids, kernelCache)) { }
        if (evict)
        {
            Compact(torchCache, ids.Length);
            Compact(kernelCache, ids.Length);
        }
        int token = ids[^1];
        var logits = new float[model.Config.VocabSize];
        for (int step = 0; step < Steps; step++)
        {
            int depth = 1 + step % layers;
            float[] expected = TorchReference.StepLayers(model, token, torchCache, depth);
            decoder.Step(token, kernelCache, logits, depth);
            double worst = expected.Zip(logits, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worst <= Float32Tolerance, $"step {step} (ℓ = {depth}): max |Δlogit| = {worst:E3} exceeds {Float32Tolerance:E1}");
            token = Array.IndexOf(expected, expected.Max());
        }
        Assert.Equal(torchCache.NextPosition, kernelCache.NextPosition);
        for (int layer = 0; layer < layers; layer++)
        {
            Assert.Equal(torchCache.Length(layer), kernelCache.Length(layer));
            Assert.True(torchCache.Keys(layer).allclose(kernelCache.Keys(layer), 1e-4, 1e-5), $"keys of layer {layer}");
            Assert.True(torchCache.Values(layer).allclose(kernelCache.Values(layer), 1e-4, 1e-5), $"values of layer {layer}");
        }
    }

    [Fact]
    public void AFullDepthShallowStepIsTheFullStep()
    {
        var model = models.Get("stories260K");
        var decoder = models.Kernels("stories260K");
        using var a = model.CreateCache(4);
        using var b = model.CreateCache(4);
        var shallow = new float[model.Config.VocabSize];
        decoder.Step(5, a, shallow, model.Config.LayerCount);
        Assert.Equal(decoder.Step(5, b), shallow);
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Step(5, a, shallow, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Step(5, a, shallow, model.Config.LayerCount + 1));
    }

    [Theory]
    [InlineData("stories260K", 0)]
    [InlineData("stories260K", 1)]
    [InlineData("stories260K", 3)]
    [InlineData("tiny-random-qwen2", 0)]
    [InlineData("tiny-random-qwen2", 1)]
    [InlineData("tiny-random-llama3-bf16", 0)]
    [InlineData("tiny-random-llama3-bf16", 2)]
    public void GreedyContinuationOnTheKernelPathEqualsReference(string name, int index)
    {
        var model = models.Get(name);
        var reference = SharedAssets.Reference(name).GetProperty("cases")[index];
        int[] expected = reference.Ints("greedy_continuation_ids");
        bool stories = name == "stories260K";
        using var generator = new TextGenerator(model, stories ? models.StoriesTokenizer : TextTokenizer.Load(SharedAssets.Model("llama2-tokenizer")));
        var options = new GenerationOptions { MaxNewTokens = expected.Length, StopTokenIds = stories ? [1, 2] : [] };
        Assert.Equal(expected, generator.Generate(reference.Ints("input_ids"), options).Ids);
    }

    /// <summary>The new architectures, from their reference ids (their tokenizers are checked in the tokenizer tests).</summary>
    [Theory]
    [InlineData("tiny-random-qwen3", 0)]
    [InlineData("tiny-random-qwen3", 1)]
    [InlineData("tiny-random-llama31", 0)]
    [InlineData("tiny-random-llama31", 1)]
    [InlineData("tiny-random-mistral-swa", 0)]
    [InlineData("tiny-random-mistral-swa", 1)]
    [InlineData("tiny-random-mistral-swa", 2)]
    public void GreedyIdsOnTheKernelPathEqualReference(string name, int index)
    {
        var reference = SharedAssets.Reference(name).GetProperty("cases")[index];
        int[] expected = reference.Ints("greedy_continuation_ids");
        using var engine = new GenerationEngine(models.Get(name));
        var options = new GenerationOptions { MaxNewTokens = expected.Length, StopTokenIds = [] };
        Assert.Equal(expected, engine.Generate(reference.Ints("input_ids"), options).Ids);
    }

    [Fact]
    public void BadInputIsRejectedWithClearExceptions()
    {
        var model = models.Get("stories260K");
        using var decoder = new KernelDecoder(model);
        using var cache = model.CreateCache(8);
        Assert.Throws<ArgumentException>(() => decoder.Step(model.Config.VocabSize, cache));
        Assert.Throws<ArgumentException>(() => decoder.Step(-1, cache));
        Assert.Throws<ArgumentException>(() => decoder.Step(0, cache, new float[3]));
        using var wrong = new KvCache(model.Config.LayerCount + 1, model.Config.KvHeadCount, model.Config.HeadDim, 8);
        Assert.Throws<ArgumentException>(() => decoder.Step(0, wrong));
        using var full = model.CreateCache(1);
        decoder.Step(0, full);
        Assert.Throws<InvalidOperationException>(() => decoder.Step(0, full));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GenerationEngine(model, new EngineOptions { PrefillChunkSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GenerationEngine(model, new EngineOptions { Threads = 0 }));
        decoder.Dispose();
        using var fresh = model.CreateCache(8);
        Assert.Throws<ObjectDisposedException>(() => decoder.Step(0, fresh));
    }

    /// <summary>
    /// Prefills a reference prompt on libtorch into two caches, optionally compacts both the same way (a different,
    /// non-contiguous subset per KV head), then decodes <see cref="Steps"/> greedy tokens with libtorch on one cache
    /// and the kernels on the other, comparing the logits of every step.
    /// </summary>
    private void AssertParity(string name, bool evict, bool bfloat16)
    {
        var model = models.Get(name);
        using var decoder = new KernelDecoder(model, bfloat16);
        AssertParity(model, decoder, name, evict, bfloat16 ? BFloat16Tolerance : Float32Tolerance);
    }

    private static void AssertParity(CausalLanguageModel model, KernelDecoder decoder, string name, bool evict, double tolerance)
    {
        int[] ids = SharedAssets.Reference(name).GetProperty("cases")[1].Ints("input_ids");
        using var torchCache = model.CreateCache(ids.Length + Steps);
        using var kernelCache = model.CreateCache(ids.Length + Steps);
        using (model.Forward(ids, torchCache)) { }
        using (model.Forward(ids, kernelCache)) { }
        if (evict)
        {
            Compact(torchCache, ids.Length);
            Compact(kernelCache, ids.Length);
        }

        int token = ids[^1];
        for (int step = 0; step < Steps; step++)
        {
            float[] expected;
            using (var logits = model.Forward([token], torchCache)) expected = logits.data<float>().ToArray();
            float[] actual = decoder.Step(token, kernelCache);
            double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worst <= tolerance, $"step {step}: max |Δlogit| = {worst:E3} exceeds {tolerance:E1}");
            var top = expected.Select((v, i) => (v, i)).OrderByDescending(p => p.v).Take(2).ToArray();
            if (top[0].v - top[1].v > 2 * tolerance)
                Assert.Equal(top[0].i, Array.IndexOf(actual, actual.Max()));
            token = top[0].i;
        }
        Assert.Equal(torchCache.NextPosition, kernelCache.NextPosition);
    }

    /// <summary>Keeps every other entry on even KV heads and the last two thirds on odd ones, in every layer.</summary>
    private static void Compact(KvCache cache, int length)
    {
        long[] even = Enumerable.Range(0, length).Where(i => i % 2 == 0).Select(i => (long)i).ToArray();
        long[] odd = Enumerable.Range(length - even.Length, even.Length).Select(i => (long)i).ToArray();
        long[] keep = Enumerable.Range(0, cache.KvHeadCount).SelectMany(h => h % 2 == 0 ? even : odd).ToArray();
        using var index = tensor(keep, [cache.KvHeadCount, even.Length]);
        for (int layer = 0; layer < cache.LayerCount; layer++) cache.Compact(layer, index);
    }
}
