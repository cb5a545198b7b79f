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

    /// <summary>A fresh stories260K whose single-token steps run on <paramref name="path"/> (the shared one decides by timing).</summary>
    private static CausalLanguageModel OnPath(DecodePath path)
    {
        var model = CausalLanguageModel.Load(SharedAssets.Model("stories260K"));
        model.UseDecodePath(path);
        return model;
    }

    [Theory]
    [InlineData(ExitStrategy.Classic, ExitFallback.FullDepth, DecodePath.Torch)]
    [InlineData(ExitStrategy.Predictive, ExitFallback.NextHead, DecodePath.Torch)]
    [InlineData(ExitStrategy.Predictive, ExitFallback.FullDepth, DecodePath.Torch)]
    [InlineData(ExitStrategy.Classic, ExitFallback.FullDepth, DecodePath.Kernels)]
    [InlineData(ExitStrategy.Predictive, ExitFallback.NextHead, DecodePath.Kernels)]
    [InlineData(ExitStrategy.Predictive, ExitFallback.FullDepth, DecodePath.Kernels)]
    public void NeverExitingReproducesFullDepthLogitsExactly(ExitStrategy strategy, ExitFallback fallback, DecodePath path)
    {
        using var model = OnPath(path);
        var policy = new ExitPolicy { Threshold = double.PositiveInfinity, Strategy = strategy, Fallback = fallback };
        using var fullCache = model.CreateCache();
        using var exitCache = model.CreateCache();
        var decoder = new ExitingDecoder(model, Heads, policy);
        // The reference is the model's own full-depth step on the same path: libtorch's Forward on the Torch path, the
        // kernel decoder's step on the Kernels path (prefill is libtorch on both). The exiting layer loop, which
        // evaluates heads between the layers, must reproduce it bit for bit.
        float[] full = model.ForwardLast(Prompt, fullCache);
        float[] exited = decoder.Prefill(Prompt, exitCache);
        Assert.Equal(full, exited);
        for (int step = 0; step < 24; step++)
        {
            int next = TimeBill.Core.Sampling.TokenSampler.ArgMax(full);
            full = model.ForwardLast([next], fullCache);
            var result = decoder.Step(next, exitCache);
            Assert.Equal(full, result.Logits);
            Assert.Equal(model.Config.LayerCount, result.LayersRun);
        }
        if (strategy == ExitStrategy.Classic) Assert.Equal(Heads.ExitLayers.Count, decoder.AverageHeadsPerToken);
        for (int layer = 0; layer < model.Config.LayerCount; layer++)
            Assert.True(fullCache.Keys(layer).eq(exitCache.Keys(layer)).all().item<bool>(), $"keys of layer {layer} differ");
    }

    [Theory]
    [InlineData(ExitStrategy.Classic, 0.0)]
    [InlineData(ExitStrategy.Predictive, 0.0)]
    [InlineData(ExitStrategy.Classic, 0.4)]
    [InlineData(ExitStrategy.Predictive, 0.4)]
    public void TheKernelPathExitsWhereTheTorchPathExitsWithTheSameLogitsAndCache(ExitStrategy strategy, double threshold)
    {
        using var torchModel = OnPath(DecodePath.Torch);
        using var kernelModel = OnPath(DecodePath.Kernels);
        var policy = ExitPolicy.AtThreshold(threshold, strategy);
        var torchDecoder = new ExitingDecoder(torchModel, Heads, policy);
        var kernelDecoder = new ExitingDecoder(kernelModel, Heads, policy);
        using var torchCache = torchModel.CreateCache();
        using var kernelCache = kernelModel.CreateCache();
        float[] logits = torchDecoder.Prefill(Prompt, torchCache);
        kernelDecoder.Prefill(Prompt, kernelCache);
        var depths = new HashSet<int>();
        for (int step = 0; step < 30; step++)
        {
            // Both decode the torch path's greedy tokens, so one rounding-level difference cannot fork the sequences.
            int next = TimeBill.Core.Sampling.TokenSampler.ArgMax(logits);
            var expected = torchDecoder.Step(next, torchCache);
            var actual = kernelDecoder.Step(next, kernelCache);
            Assert.Equal(expected.LayersRun, actual.LayersRun);
            Assert.Equal(expected.HeadsEvaluated, actual.HeadsEvaluated);
            double worst = expected.Logits.Zip(actual.Logits, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worst <= 1e-4, $"step {step}: max |Δlogit| = {worst:E3}");
            Assert.Equal(expected.Confidence, actual.Confidence, 1e-5);
            depths.Add(actual.LayersRun);
            logits = expected.Logits;
        }
        Assert.Contains(depths, d => d < kernelModel.Config.LayerCount); // the test exercised exits
        Assert.Equal(torchCache.NextPosition, kernelCache.NextPosition);
        for (int layer = 0; layer < torchModel.Config.LayerCount; layer++)
        {
            Assert.Equal(torchCache.Length(layer), kernelCache.Length(layer));
            Assert.True(torchCache.Keys(layer).allclose(kernelCache.Keys(layer), 1e-4, 1e-5), $"keys of layer {layer}");
            Assert.True(torchCache.Values(layer).allclose(kernelCache.Values(layer), 1e-4, 1e-5), $"values of layer {layer}");
        }
    }

    [Theory]
    [InlineData(ExitStrategy.Classic)]
    [InlineData(ExitStrategy.Predictive)]
    public void SkippedLayersStillGetKeysAndValuesAtTheRightPositions(ExitStrategy strategy)
    {
        // τ = 0: every evaluated head is confident, so classic exits after layer 0 and predictive at its predicted head.
        var decoder = new ExitingDecoder(Model, Heads, ExitPolicy.AtThreshold(0, strategy));
        using var cache = Model.CreateCache();
        int next = TimeBill.Core.Sampling.TokenSampler.ArgMax(decoder.Prefill(Prompt, cache));
        const int steps = 20;
        for (int step = 0; step < steps; step++)
            next = TimeBill.Core.Sampling.TokenSampler.ArgMax(decoder.Step(next, cache).Logits);

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
        var decoder = new ExitingDecoder(Model, Heads, ExitPolicy.AtThreshold(0, ExitStrategy.Classic));
        using var cache = Model.CreateCache();
        using var reference = Model.CreateCache();
        int next = TimeBill.Core.Sampling.TokenSampler.ArgMax(decoder.Prefill(Prompt, cache));
        Model.ForwardLast(Prompt, reference);
        decoder.Step(next, cache);

        using var scope = TorchSharp.torch.NewDisposeScope();
        using var noGrad = TorchSharp.torch.no_grad();
        var hidden = Model.ForwardLayer(0, Model.Embed([next], reference), reference);
        for (int layer = 1; layer < Model.Config.LayerCount; layer++) Model.AppendKeyValues(layer, hidden, reference);
        reference.Advance(1);
        for (int layer = 0; layer < Model.Config.LayerCount; layer++)
        {
            // The decoder fuses the upper layers' projections (norm weights folded in): equal up to float rounding.
            Assert.True(cache.Keys(layer).allclose(reference.Keys(layer), 1e-5, 1e-5), $"keys of layer {layer}");
            Assert.True(cache.Values(layer).allclose(reference.Values(layer), 1e-5, 1e-5), $"values of layer {layer}");
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
            Assert.Throws<ArgumentException>(() => new ExitingDecoder(other, Heads, ExitPolicy.AtThreshold(0.5)));
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
