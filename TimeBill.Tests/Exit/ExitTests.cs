using TimeBill.Core.Cache;
using TimeBill.Core.Decoding;
using TimeBill.Core.Exit;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Predictors.Exit;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Exit;

/// <summary>Trains small exit heads once on stories260K's own text (a few seconds) for the exit tests.</summary>
internal static class SmallExitHeads
{
    private static readonly Lock Gate = new();
    private static (ExitModel Model, ExitTrainingReport Report)? _trained;

    public static (ExitModel Model, ExitTrainingReport Report) Get(CausalLanguageModel model, TimeBill.Core.Tokenization.TextTokenizer tokenizer)
    {
        lock (Gate)
        {
            if (_trained is { } done) return done;
            var stories = ExitDistillationSet.SampleStories(model, tokenizer, ["Once upon a time", "Tom had a red ball", "The little bird"], 3, 64, seed: 11);
            using var train = ExitDistillationSet.FromSequences(model, stories.Where((_, i) => i % 3 != 2).ToList());
            using var held = ExitDistillationSet.FromSequences(model, stories.Where((_, i) => i % 3 == 2).ToList());
            var trained = ExitTrainer.Train(model, train, held, new ExitTrainingOptions { HeadSteps = 40, PredictorSteps = 200, BatchSize = 96, Seed = 3 });
            _trained = trained;
            return trained;
        }
    }
}

/// <summary>Exit heads, the exit-layer predictor and layer skipping that keeps the KV cache whole.</summary>
[Collection(ModelCollection.Name)]
public sealed class ExitTests(ModelFixture models)
{
    private CausalLanguageModel Model => models.Get("stories260K");
    private ExitModel Heads => SmallExitHeads.Get(Model, models.StoriesTokenizer).Model;

    private int[] Prompt => models.StoriesTokenizer.EncodePrompt("Once upon a time, there was a little dog");

    private KernelDecoder Kernels => models.Kernels("stories260K");

    /// <summary>Greedy decoding of <paramref name="steps"/> tokens after the prompt with <paramref name="decoder"/>, the logits of each step kept.</summary>
    private List<(int Token, float[] Logits, ExitStep Step)> Decode(ExitingDecoder decoder, KvCache cache, int steps)
    {
        var logits = Model.ForwardLast(Prompt, cache);
        decoder.Begin(logits);
        var result = new List<(int, float[], ExitStep)>();
        for (int i = 0; i < steps; i++)
        {
            int next = TimeBill.Core.Sampling.TokenSampler.ArgMax(logits);
            logits = new float[Model.Config.VocabSize];
            var step = decoder.Step(next, cache, logits);
            result.Add((next, logits, step));
        }
        return result;
    }

    [Theory]
    [InlineData(ExitStrategy.Classic, ExitFallback.FullDepth)]
    [InlineData(ExitStrategy.Predictive, ExitFallback.NextHead)]
    [InlineData(ExitStrategy.Predictive, ExitFallback.FullDepth)]
    public void NeverExitingReproducesFullDepthLogitsExactly(ExitStrategy strategy, ExitFallback fallback)
    {
        var policy = new ExitPolicy { Threshold = double.PositiveInfinity, Strategy = strategy, Fallback = fallback };
        using var fullCache = Model.CreateCache();
        using var exitCache = Model.CreateCache();
        var decoder = new ExitingDecoder(Model, Kernels, Heads, policy);
        // The reference is the kernel decoder's own full-depth step: the exiting layer loop, which evaluates heads
        // between the layers, must reproduce it bit for bit.
        float[] full = Model.ForwardLast(Prompt, fullCache);
        foreach (var (token, logits, step) in Decode(decoder, exitCache, 24))
        {
            Kernels.Step(token, fullCache, full);
            Assert.Equal(full, logits);
            Assert.Equal(Model.Config.LayerCount, step.LayersRun);
        }
        if (strategy == ExitStrategy.Classic) Assert.Equal(Heads.ExitLayers.Count, decoder.AverageHeadsPerToken);
        for (int layer = 0; layer < Model.Config.LayerCount; layer++)
            Assert.True(fullCache.Keys(layer).eq(exitCache.Keys(layer)).all().item<bool>(), $"keys of layer {layer} differ");
    }

    [Theory]
    [InlineData(ExitStrategy.Classic, 0.0)]
    [InlineData(ExitStrategy.Predictive, 0.0)]
    [InlineData(ExitStrategy.Classic, 0.4)]
    [InlineData(ExitStrategy.Predictive, 0.4)]
    public void ExitedLogitsAndCacheEqualTheLibtorchReferenceAtTheDepthChosen(ExitStrategy strategy, double threshold)
    {
        var policy = ExitPolicy.AtThreshold(threshold, strategy);
        var decoder = new ExitingDecoder(Model, Kernels, Heads, policy);
        using var cache = Model.CreateCache();
        using var reference = Model.CreateCache();
        Model.ForwardLast(Prompt, reference);
        var depths = new HashSet<int>();
        int layers = Model.Config.LayerCount;
        foreach (var (token, logits, step) in Decode(decoder, cache, 30))
        {
            // libtorch, layer by layer: the first LayersRun layers in full, the rest get K/V from the exited state.
            using var scope = TorchSharp.torch.NewDisposeScope();
            using var noGrad = TorchSharp.torch.no_grad();
            var hidden = Model.Embed([token], reference);
            var confidences = new List<(int Layer, float Confidence)>();
            for (int layer = 0; layer < step.LayersRun; layer++)
            {
                hidden = Model.ForwardLayer(layer, hidden, reference);
                if (strategy == ExitStrategy.Classic && layer + 1 < layers && Heads.ExitLayers.Contains(layer))
                    confidences.Add((layer, ExitingDecoder.TopProbability(Heads.ExitLogits(layer, hidden).data<float>().ToArray())));
            }
            Model.AppendKeyValuesFrom(step.LayersRun, hidden, reference);
            reference.Advance(1);
            var expected = (step.LayersRun < layers ? Heads.ExitLogits(step.LayersRun - 1, hidden) : Model.Head(hidden)).data<float>().ToArray();
            double worst = expected.Zip(logits, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worst <= 1e-4, $"max |Δlogit| = {worst:E3} at depth {step.LayersRun}");
            if (strategy == ExitStrategy.Classic)
            {
                // Classic exits at the first head that is confident enough, and only there.
                foreach (var (layer, confidence) in confidences)
                    Assert.Equal(layer == step.LayersRun - 1 && step.LayersRun < layers, confidence >= threshold);
                Assert.Equal(confidences.Count, step.HeadsEvaluated);
            }
            depths.Add(step.LayersRun);
        }
        Assert.Contains(depths, d => d < layers); // the test exercised exits
        Assert.Equal(reference.NextPosition, cache.NextPosition);
        for (int layer = 0; layer < layers; layer++)
        {
            Assert.Equal(reference.Length(layer), cache.Length(layer));
            Assert.True(reference.Keys(layer).allclose(cache.Keys(layer), 1e-4, 1e-5), $"keys of layer {layer}");
            Assert.True(reference.Values(layer).allclose(cache.Values(layer), 1e-4, 1e-5), $"values of layer {layer}");
        }
    }

    [Theory]
    [InlineData(ExitStrategy.Classic)]
    [InlineData(ExitStrategy.Predictive)]
    public void SkippedLayersStillGetKeysAndValuesAtTheRightPositions(ExitStrategy strategy)
    {
        // τ = 0: every evaluated head is confident, so classic exits after layer 0 and predictive at its predicted head.
        var decoder = new ExitingDecoder(Model, Kernels, Heads, ExitPolicy.AtThreshold(0, strategy));
        using var cache = Model.CreateCache();
        const int steps = 20;
        Decode(decoder, cache, steps);

        int expected = Prompt.Length + steps;
        Assert.Equal(expected, cache.NextPosition);
        if (strategy == ExitStrategy.Classic) Assert.Equal(1.0, decoder.AverageLayersPerToken);
        Assert.True(decoder.AverageLayersPerToken < Model.Config.LayerCount);
        for (int layer = 0; layer < Model.Config.LayerCount; layer++)
        {
            Assert.Equal(expected, cache.Length(layer));
            for (int head = 0; head < cache.KvHeadCount; head++)
                Assert.Equal(Enumerable.Range(0, expected).Select(i => (long)i), cache.PositionsOf(layer, head));
            // Every decoded token left a real (non-zero) key in every layer, skipped or not.
            using var decodedKeys = cache.Keys(layer).narrow(1, Prompt.Length, steps);
            Assert.True(decodedKeys.abs().sum(new long[] { 0, 2 }).min().item<float>() > 0, $"layer {layer} holds an empty key");
        }
    }

    [Fact]
    public void SkippedLayerEntriesAreTheKeyValueProjectionOfTheExitedHiddenState()
    {
        // Classic τ = 0 exits after layer 0; the upper layers' entries must equal AppendKeyValues of that hidden state.
        var decoder = new ExitingDecoder(Model, Kernels, Heads, ExitPolicy.AtThreshold(0, ExitStrategy.Classic));
        using var cache = Model.CreateCache();
        using var reference = Model.CreateCache();
        Model.ForwardLast(Prompt, reference);
        int next = Decode(decoder, cache, 1)[0].Token;

        using var scope = TorchSharp.torch.NewDisposeScope();
        using var noGrad = TorchSharp.torch.no_grad();
        var hidden = Model.ForwardLayer(0, Model.Embed([next], reference), reference);
        for (int layer = 1; layer < Model.Config.LayerCount; layer++) Model.AppendKeyValues(layer, hidden, reference);
        reference.Advance(1);
        for (int layer = 0; layer < Model.Config.LayerCount; layer++)
        {
            // The kernels and libtorch round differently: equal up to float rounding.
            Assert.True(cache.Keys(layer).allclose(reference.Keys(layer), 1e-4, 1e-5), $"keys of layer {layer}");
            Assert.True(cache.Values(layer).allclose(reference.Values(layer), 1e-4, 1e-5), $"values of layer {layer}");
        }
    }

    [Fact]
    public void DistillationLowersTheHeadsKlAndThePredictorBeatsAConstant()
    {
        var report = SmallExitHeads.Get(Model, models.StoriesTokenizer).Report;
        for (int k = 0; k < report.ExitLayers.Count; k++)
            Assert.True(report.KlAfter[k] < report.KlBefore[k], $"head {report.ExitLayers[k]}: KL {report.KlBefore[k]} → {report.KlAfter[k]}");
        Assert.True(report.PredictorLoss < report.ConstantBaselineLoss, $"predictor {report.PredictorLoss} vs constant {report.ConstantBaselineLoss}");
    }

    [Fact]
    public void SaveLoadRoundTripsAndRefusesAnotherModel()
    {
        string path = Path.Combine(Path.GetTempPath(), $"timebill-exit-{Guid.NewGuid():N}.json");
        try
        {
            Heads.Save(path);
            using var loaded = ExitModel.Load(path, Model);
            Assert.Equal(Heads.ExitLayers, loaded.ExitLayers);
            Assert.Equal(Heads.PredictorLayer, loaded.PredictorLayer);
            Assert.Equal(Heads.Calibration.Points, loaded.Calibration.Points);
            using var hidden = TorchSharp.torch.randn(3, Model.Config.HiddenSize);
            foreach (int layer in Heads.ExitLayers)
            {
                using var a = Heads.ExitLogits(layer, hidden);
                using var b = loaded.ExitLogits(layer, hidden);
                Assert.True(a.eq(b).all().item<bool>());
            }
            float[] h = hidden[0].data<float>().ToArray();
            Assert.Equal(Heads.Predictor.PredictConfidences(h, 0.5f), loaded.Predictor.PredictConfidences(h, 0.5f));

            using var other = CausalLanguageModel.CreateRandom(Model.Config, seed: 1);
            var error = Assert.Throws<InvalidDataException>(() => ExitModel.Load(path, other));
            Assert.Contains("trained for model", error.Message);
            using var otherKernels = new KernelDecoder(other);
            Assert.Throws<ArgumentException>(() => new ExitingDecoder(other, otherKernels, Heads, ExitPolicy.AtThreshold(0.5)));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void GenerationTakesTheExitPolicyAndDefaultsToFullDepth()
    {
        using var plain = new TextGenerator(Model, models.StoriesTokenizer);
        using var exiting = new TextGenerator(Model, models.StoriesTokenizer, Heads);
        var options = new GenerationOptions { MaxNewTokens = 40 };
        var reference = plain.Generate(Prompt, options);
        Assert.Null(reference.AverageLayersPerToken);
        var never = exiting.Generate(Prompt, options with { Exit = ExitPolicy.AtThreshold(double.PositiveInfinity) });
        Assert.Equal(reference.Ids, never.Ids);
        Assert.Equal(Model.Config.LayerCount, never.AverageLayersPerToken);
        var eager = exiting.Generate(Prompt, options with { Exit = ExitPolicy.AtThreshold(0, ExitStrategy.Classic) });
        Assert.Equal(1.0, eager.AverageLayersPerToken);
        Assert.Throws<ArgumentException>(() => plain.Generate(Prompt, options with { Exit = ExitPolicy.AtThreshold(0.5) }));
    }
}

/// <summary>The calibration's pricing arithmetic (closed form, no model).</summary>
public sealed class ExitCalibrationTests
{
    private static readonly ExitCalibration Calibration = new(5,
    [
        new ExitCalibrationPoint(0.5, 2.0, 2.0, 2.5, 1.0, 0.8, 0.85),
        new ExitCalibrationPoint(0.9, 4.0, 3.5, 4.2, 0.6, 0.95, 0.97),
        new ExitCalibrationPoint(double.PositiveInfinity, 5, 4, 5, 0, 1, 1),
    ]);

    [Fact]
    public void ExpectedLayersInterpolateAndOffIsFullDepth()
    {
        Assert.Equal(5, Calibration.ExpectedLayersPerToken(ExitPolicy.Off));
        Assert.Equal(5, Calibration.ExpectedLayersPerToken(ExitPolicy.AtThreshold(double.PositiveInfinity)));
        Assert.Equal(3.0, Calibration.ExpectedLayersPerToken(ExitPolicy.AtThreshold(0.7, ExitStrategy.Classic)), 12);
        Assert.Equal(2.5, Calibration.ExpectedLayersPerToken(ExitPolicy.AtThreshold(0.1)), 12);
    }

    [Fact]
    public void TargetDepthPicksTheBestThresholdWithinIt()
    {
        Assert.Equal(0.9, Calibration.ThresholdForAverageLayers(4.5, ExitStrategy.Predictive));
        Assert.Equal(0.5, Calibration.ThresholdForAverageLayers(3.0, ExitStrategy.Predictive));
        Assert.Equal(double.PositiveInfinity, Calibration.ThresholdForAverageLayers(5, ExitStrategy.Classic));
        Assert.Equal(4.2, Calibration.ExpectedLayersPerToken(ExitPolicy.ForAverageLayers(4.5)), 12);
        Assert.Throws<ArgumentException>(() => new ExitPolicy { Threshold = 0.5, TargetAverageLayers = 3 }.Validate());
    }
}
