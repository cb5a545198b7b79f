using TimeBill.Core.Model;
using TimeBill.Core.Native;
using static TorchSharp.torch;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>Trains the response-length predictors the runtime loads (<see cref="LengthPredictorFile"/>).</summary>
internal static class LengthPredictorTrainer
{
    /// <summary>Trains a self-probe's head on features from <see cref="SelfProbeLengthPredictor.ExtractFeatures"/> (standardised with the training set's statistics).</summary>
    public static (SelfProbeLengthPredictor Predictor, RlpTrainingReport Report) TrainSelfProbe(CausalLanguageModel model, int layer,
        float[][] trainFeatures, int[] trainLengths, float[][] validationFeatures, int[] validationLengths,
        LengthHeadSpec head, int width, RlpTrainingOptions options, Action<int, double, double>? onEpoch = null, CancellationToken cancellationToken = default)
    {
        TorchSharpNativeLoader.EnsureLoaded();
        manual_seed(options.Seed);
        int f = trainFeatures[0].Length;
        var mean = new float[f];
        var std = new float[f];
        for (int j = 0; j < f; j++)
        {
            double m = trainFeatures.Average(x => x[j]);
            double v = trainFeatures.Average(x => (x[j] - m) * (x[j] - m));
            mean[j] = (float)m;
            std[j] = (float)Math.Max(Math.Sqrt(v), 1e-6);
        }
        var header = new LengthPredictorHeader
        {
            Kind = SelfProbeLengthPredictor.KindName, ModelIdentity = model.Identity, Head = head, Quantile = options.Quantile, Dim = width, ProbeLayer = layer,
            FeatureMean = mean, FeatureStd = std,
        };
        var net = new ProbeMlpNet(f, width, head.Outputs);
        using var train = SelfProbeLengthPredictor.Standardise(trainFeatures, header);
        using var validation = SelfProbeLengthPredictor.Standardise(validationFeatures, header);
        Tensor Forward(bool isTrain, long[] batch)
        {
            using var index = tensor(batch);
            return net.forward((isTrain ? train : validation).index_select(0, index));
        }
        var report = RlpTrainer.Train(net, Forward, trainLengths, validationLengths, head, options, onEpoch, cancellationToken);
        return (new SelfProbeLengthPredictor(net, header, model), report);
    }

    /// <summary>Trains a small prompt-transformer predictor on distilled records (validation set for early stopping).</summary>
    public static (SmallModelLengthPredictor Predictor, RlpTrainingReport Report) TrainSmallModel(
        IReadOnlyList<LengthRecord> train, IReadOnlyList<LengthRecord> validation, string modelIdentity, int vocab, int maxPositions,
        LengthHeadSpec head, SmallModelShape shape, RlpTrainingOptions options, Action<int, double, double>? onEpoch = null,
        CancellationToken cancellationToken = default)
    {
        TorchSharpNativeLoader.EnsureLoaded();
        manual_seed(options.Seed);
        var header = new LengthPredictorHeader
        {
            Kind = SmallModelLengthPredictor.KindName, ModelIdentity = modelIdentity, Head = head, Quantile = options.Quantile, Vocab = vocab, MaxPositions = maxPositions,
            Dim = shape.Dim, Layers = shape.Layers, Heads = shape.Heads, Window = shape.Window,
        };
        var net = SmallModelLengthPredictor.Create(header);
        var (trainIds, trainPos, trainLen) = PromptWindow.Build(train.Select(r => r.PromptIds).ToList(), shape.Window, vocab, maxPositions);
        var (valIds, valPos, valLen) = PromptWindow.Build(validation.Select(r => r.PromptIds).ToList(), shape.Window, vocab, maxPositions);
        try
        {
            Tensor Forward(bool isTrain, long[] batch)
            {
                using var index = tensor(batch);
                return isTrain
                    ? net.forward(trainIds.index_select(0, index), trainPos.index_select(0, index), trainLen.index_select(0, index))
                    : net.forward(valIds.index_select(0, index), valPos.index_select(0, index), valLen.index_select(0, index));
            }
            var report = RlpTrainer.Train(net, Forward, train.Select(r => r.ResponseLength).ToArray(), validation.Select(r => r.ResponseLength).ToArray(),
                head, options, onEpoch, cancellationToken);
            return (new SmallModelLengthPredictor(net, header), report);
        }
        finally
        {
            foreach (var t in new[] { trainIds, trainPos, trainLen, valIds, valPos, valLen }) t.Dispose();
        }
    }
}
