using TimeBill.Core.Planning;
using TimeBill.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// The paper's RLP: a compact transformer classifier over the prompt tokens, independent of the target model, so it
/// can run concurrently with the target's prefill. N̂ is the chosen quantile of its bucket distribution.
/// </summary>
public sealed class SmallModelLengthPredictor : IResponseLengthPredictor, IDisposable
{
    internal const string KindName = "small-transformer";
    private readonly PromptTransformerNet _net;
    private readonly LengthPredictorHeader _header;

    private SmallModelLengthPredictor(PromptTransformerNet net, LengthPredictorHeader header)
    {
        _net = net;
        _header = header;
        _net.eval();
    }

    /// <inheritdoc/>
    public string ModelIdentity => _header.ModelIdentity;
    /// <inheritdoc/>
    public LengthBuckets Buckets => _header.Head.Buckets;
    /// <summary>The output head.</summary>
    public LengthHeadSpec Head => _header.Head;

    /// <summary>Trains a predictor on distilled records (validation set for early stopping).</summary>
    public static (SmallModelLengthPredictor Predictor, RlpTrainingReport Report) Train(
        IReadOnlyList<LengthRecord> train, IReadOnlyList<LengthRecord> validation, string modelIdentity, int vocab, int maxPositions,
        LengthHeadSpec head, SmallModelShape shape, RlpTrainingOptions options, Action<int, double, double>? onEpoch = null,
        CancellationToken cancellationToken = default)
    {
        TorchSharpNativeLoader.EnsureLoaded();
        manual_seed(options.Seed);
        var header = new LengthPredictorHeader
        {
            Kind = KindName, ModelIdentity = modelIdentity, Head = head, Quantile = options.Quantile, Vocab = vocab, MaxPositions = maxPositions,
            Dim = shape.Dim, Layers = shape.Layers, Heads = shape.Heads, Window = shape.Window,
        };
        var net = Create(header);
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

    /// <inheritdoc/>
    public ResponseLengthPrediction Predict(IReadOnlyList<int> promptIds) => PredictMany([promptIds.ToArray()])[0];

    /// <summary>Predicts for many prompts in batches.</summary>
    public ResponseLengthPrediction[] PredictMany(IReadOnlyList<int[]> prompts)
    {
        using var noGrad = no_grad();
        var result = new List<ResponseLengthPrediction>(prompts.Count);
        for (int start = 0; start < prompts.Count; start += 256)
        {
            using var scope = NewDisposeScope();
            var chunk = prompts.Skip(start).Take(256).ToList();
            var (ids, pos, len) = PromptWindow.Build(chunk, _header.Window, _header.Vocab, _header.MaxPositions);
            result.AddRange(RlpTrainer.ToPredictions(_net.forward(ids, pos, len), _header.Head, _header.Quantile));
        }
        return [.. result];
    }

    /// <summary>Saves the predictor with its model identity.</summary>
    public void Save(string path) => LengthPredictorFile.Save(path, _header, _net);

    internal static SmallModelLengthPredictor FromFile(LengthPredictorHeader header, BinaryReader reader)
    {
        TorchSharpNativeLoader.EnsureLoaded();
        var net = Create(header);
        net.load(reader);
        return new SmallModelLengthPredictor(net, header);
    }

    private static PromptTransformerNet Create(LengthPredictorHeader h) =>
        new(h.Vocab, h.MaxPositions, h.Dim, h.Layers, h.Heads, h.Head.Outputs);

    /// <summary>Frees the network.</summary>
    public void Dispose() => _net.Dispose();
}
