using TimeBill.Core.Model;
using TimeBill.Tests.Support;
using Xunit.Abstractions;

namespace TimeBill.Tests.Gguf;

/// <summary>
/// The same GGUF file through this library and through llama.cpp: logits within a tolerance derived per format,
/// the same argmax at (nearly) every position, the same greedy continuation where llama.cpp's rounding of the
/// activations cannot flip it.
/// </summary>
public sealed class LlamaCppParityTests(GgufFilesFixture files, ITestOutputHelper output) : IClassFixture<GgufFilesFixture>
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string model in new[] { "stories260K", "tiny-random-qwen2", "tiny-random-llama3-bf16", "tiny-random-qwen3", "tiny-random-llama31" })
            foreach (string type in new[] { "f32", "f16", "bf16", "q8_0", "q4_0" })
                data.Add(model, type);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogitsMatchLlamaCpp(string model, string type) =>
        CompareLogits(files.Get(model, type), type, $"{model} {type}",
            SharedAssets.Reference(model).GetProperty("cases").EnumerateArray().Select(c => c.Ints("input_ids")));

    [Theory]
    [InlineData("q8_0")]
    [InlineData("q4_0")]
    [InlineData("q4_k")]
    [InlineData("q5_k")]
    [InlineData("q6_k")]
    public void KQuantShapeMatchesLlamaCpp(string type) => CompareLogits(files.GetBlockShape(type), type, $"block shape {type}", BlockShapePrompts());

    [Theory]
    [InlineData(LLama.Native.LLamaFtype.MOSTLY_Q4_K_M)]
    [InlineData(LLama.Native.LLamaFtype.MOSTLY_Q5_K_M)]
    [InlineData(LLama.Native.LLamaFtype.MOSTLY_Q6_K)]
    [InlineData(LLama.Native.LLamaFtype.MOSTLY_Q8_0)]
    public void FilesLlamaCppQuantizedMatch(LLama.Native.LLamaFtype ftype) =>
        CompareLogits(files.GetQuantizedByLlamaCpp(ftype), "q4_k", $"llama.cpp {ftype}", BlockShapePrompts());

    /// <summary>
    /// Decode steps on the kernels over the stored blocks (activations quantized to 8 bits, as llama.cpp does) against
    /// llama.cpp's logits for the same sequence: prefill on libtorch over dequantized slices, then 16 teacher-forced steps.
    /// </summary>
    [Theory]
    [InlineData("q8_0")]
    [InlineData("q4_0")]
    [InlineData("q4_k")]
    [InlineData("q5_k")]
    [InlineData("q6_k")]
    [InlineData("bf16")]
    [InlineData("f16")]
    public void KernelStepsOnStoredBlocksMatchLlamaCpp(string type)
    {
        string file = files.GetBlockShape(type);
        using var lm = CausalLanguageModel.Load(file);
        Assert.All(lm.Weights.Matrices, m => Assert.Null(m.Float32));
        using var decoder = new TimeBill.Core.Decoding.KernelDecoder(lm);
        int[] sequence = BlockShapePrompts().Last()[..40];
        const int prompt = 24;
        var reference = LlamaCppReference.Logits(file, sequence);
        using var cache = lm.CreateCache(sequence.Length);
        lm.ForwardLast(sequence.AsSpan(0, prompt), cache);
        double bound = Tolerance(type, lm.Config.LayerCount), worst = 0;
        var logits = new float[lm.Config.VocabSize];
        for (int p = prompt; p < sequence.Length; p++)
        {
            decoder.Step(sequence[p], cache, logits);
            float[] theirs = reference[p];
            double scale = theirs.Max(Math.Abs);
            worst = Math.Max(worst, logits.Zip(theirs, (a, b) => Math.Abs(a - b)).Max() / scale);
            if (TopGap(theirs) > 2 * bound * scale) Assert.Equal(ArgMax(theirs), ArgMax(logits));
        }
        output.WriteLine($"kernel steps {type}: max |Δ|/max|logit| {worst:E2} (bound {bound:E1})");
        Assert.True(worst <= bound, $"kernel steps {type}: relative logit error {worst:E2} above {bound:E1}");
    }

    private static IEnumerable<int[]> BlockShapePrompts()
    {
        var random = new Random(3);
        return [Enumerable.Range(0, 24).Select(_ => random.Next(1024)).ToArray(), Enumerable.Range(0, 64).Select(_ => random.Next(1024)).ToArray()];
    }

    private void CompareLogits(string file, string type, string label, IEnumerable<int[]> prompts)
    {
        using var lm = CausalLanguageModel.Load(file);
        double bound = Tolerance(type, lm.Config.LayerCount);
        int positions = 0, agree = 0, decided = 0, decidedAgree = 0;
        double worst = 0;
        foreach (int[] prompt in prompts)
        {
            int[] ids = prompt[..Math.Min(64, prompt.Length)];
            var reference = LlamaCppReference.Logits(file, ids);
            using var cache = lm.CreateCache(ids.Length);
            using var logits = lm.Forward(ids, cache, allLogits: true);
            for (int p = 0; p < ids.Length; p++)
            {
                float[] ours = logits[p].data<float>().ToArray();
                float[] theirs = reference[p];
                double scale = theirs.Max(Math.Abs);
                worst = Math.Max(worst, ours.Zip(theirs, (a, b) => Math.Abs(a - b)).Max() / scale);
                bool same = ArgMax(ours) == ArgMax(theirs);
                positions++;
                if (same) agree++;
                // Where llama.cpp's top two are further apart than both sides' errors, rounding cannot decide the argmax.
                if (TopGap(theirs) > 2 * bound * scale)
                {
                    decided++;
                    if (same) decidedAgree++;
                }
            }
        }
        output.WriteLine($"{label}: max |Δ|/max|logit| {worst:E2} (bound {bound:E1}), argmax {agree}/{positions}, where decided {decidedAgree}/{decided}");
        Assert.True(worst <= bound, $"{label}: relative logit error {worst:E2} above {bound:E1}");
        Assert.Equal(decided, decidedAgree);
        if (type is "f32" or "f16") Assert.True(agree >= 0.99 * positions, $"{label}: argmax agrees at {agree} of {positions} positions");
    }

    [Theory]
    [InlineData("stories260K", "f32")]
    [InlineData("stories260K", "f16")]
    [InlineData("stories260K", "bf16")]
    [InlineData("tiny-random-qwen3", "f32")]
    [InlineData("tiny-random-qwen3", "f16")]
    [InlineData("tiny-random-llama31", "f32")]
    [InlineData("tiny-random-llama31", "f16")]
    [InlineData("tiny-random-qwen2", "f32")]
    [InlineData("tiny-random-llama3-bf16", "f32")]
    public void GreedyContinuationsMatchLlamaCpp(string model, string type)
    {
        string file = files.Get(model, type);
        using var lm = CausalLanguageModel.Load(file);
        foreach (var testCase in SharedAssets.Reference(model).GetProperty("cases").EnumerateArray().Take(2))
        {
            int[] prompt = testCase.Ints("input_ids");
            int[] theirs = LlamaCppReference.Greedy(file, prompt, 16);
            using var cache = lm.CreateCache(prompt.Length + 16);
            var ours = new List<int>();
            float[] logits = lm.ForwardLast(prompt, cache);
            for (int step = 0; step < 16; step++)
            {
                ours.Add(ArgMax(logits));
                if (step < 15) logits = lm.ForwardLast([ours[^1]], cache);
            }
            Assert.Equal(theirs, ours);
        }
    }

    /// <summary>
    /// Largest logit difference as a share of the largest logit. Both sides read the same stored weights; llama.cpp rounds
    /// the activations of each matrix product to the weights' dot type (unit u: F32 none, F16 2⁻¹¹, BF16 2⁻⁸) and this
    /// library multiplies in float32. Each of a layer's three product stages (attention in, attention out, MLP) and the
    /// head adds about u relative, so the bound is 2·(3L + 1)·u — twice the additive estimate; float32 alone differs by
    /// summation order (1e-5).
    /// </summary>
    private static double Tolerance(string type, int layers) => type switch
    {
        "f32" => 1e-5,
        "f16" => 2 * (3 * layers + 1) * Math.Pow(2, -11),
        "bf16" => 2 * (3 * layers + 1) * Math.Pow(2, -8),
        // llama.cpp quantizes the activations to 8-bit blocks (Q8_0, or Q8_K for K-quant weights): an element is off by up to
        // half a step of max|x|/127, and a block's maximum is 2–2.5× its RMS, so about 2⁻⁷ of the RMS; random weights cancel
        // in their products (|Σwx| ≪ Σ|wx|), which the larger factor 3 covers. Real weights stay 5–10× inside it (stories260K,
        // the block shape); a layout error gives errors of order 1 and disagreeing argmaxes where they are decided.
        "q8_0" or "q4_0" or "q4_k" or "q5_k" or "q6_k" => 3 * (3 * layers + 1) * Math.Pow(2, -7),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static double TopGap(float[] values)
    {
        float first = float.NegativeInfinity, second = float.NegativeInfinity;
        foreach (float v in values)
        {
            if (v > first) (first, second) = (v, first);
            else if (v > second) second = v;
        }
        return first - second;
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
