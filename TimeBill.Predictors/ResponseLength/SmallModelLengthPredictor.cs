using TimeBill.Core.Planning;
using TimeBill.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// The paper's RLP: a compact transformer classifier over the prompt tokens, independent of the target model, so it
/// can run concurrently with the target's prefill. N̂ is the chosen quantile of its bucket distribution.
/// </summary>
internal sealed class SmallModelLengthPredictor : IResponseLengthPredictor, IDisposable
{
    internal const string KindName = "small-transformer";
    private readonly PromptTransformerNet _net;
    private readonly LengthPredictorHeader _header;

    internal SmallModelLengthPredictor(PromptTransformerNet net, LengthPredictorHeader header)
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
            result.AddRange(LengthHeadOutputs.ToPredictions(_net.forward(ids, pos, len), _header.Head, _header.Quantile));
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

    internal static PromptTransformerNet Create(LengthPredictorHeader h) =>
        new(h.Vocab, h.MaxPositions, h.Dim, h.Layers, h.Heads, h.Head.Outputs);

    /// <summary>Frees the network.</summary>
    public void Dispose() => _net.Dispose();
}
