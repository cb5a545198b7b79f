using TimeBill.Core.Model;
using TimeBill.Core.Native;
using TimeBill.Core.Planning;
using static TorchSharp.torch;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// The self-probe RLP: an MLP on the target model's own prefill hidden states (last-token and mean-pooled states of
/// one layer, plus the prompt-length features). Inside a generation the features come for free from the prefill
/// through <see cref="CreateProbe"/>, so the prediction costs one small MLP; <see cref="Predict"/> alone runs a prefill.
/// </summary>
internal sealed class SelfProbeLengthPredictor : IPrefillProbingLengthPredictor, IDisposable
{
    internal const string KindName = "self-probe";
    private readonly ProbeMlpNet _net;
    private readonly LengthPredictorHeader _header;
    private readonly CausalLanguageModel _model;

    internal SelfProbeLengthPredictor(ProbeMlpNet net, LengthPredictorHeader header, CausalLanguageModel model)
    {
        _net = net;
        _header = header;
        _model = model;
        _net.eval();
    }

    /// <inheritdoc/>
    public string ModelIdentity => _header.ModelIdentity;
    /// <inheritdoc/>
    public LengthBuckets Buckets => _header.Head.Buckets;
    /// <summary>The output head.</summary>
    public LengthHeadSpec Head => _header.Head;
    /// <summary>The target layer read.</summary>
    public int ProbeLayer => _header.ProbeLayer;

    /// <summary>
    /// Raw features of each prompt: runs the target's prefill with a <see cref="HiddenStateProbe"/> on
    /// <paramref name="layer"/> and appends the length features.
    /// </summary>
    public static float[][] ExtractFeatures(CausalLanguageModel model, IReadOnlyList<int[]> prompts, int layer, Action<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (layer < 0 || layer >= model.Config.LayerCount)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"the model has layers 0..{model.Config.LayerCount - 1}.");
        var result = new float[prompts.Count][];
        using var cache = model.CreateCache();
        for (int i = 0; i < prompts.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            cache.Reset();
            // A probe sums over every chunk it sees, so each prompt needs its own.
            var probe = new HiddenStateProbe(layer);
            using (model.Forward(prompts[i], cache, allLogits: false, probe)) { }
            result[i] = WithLength(probe.Features!, prompts[i].Length, model.Config.MaxPositions);
            progress?.Invoke(i + 1);
        }
        return result;
    }

    /// <summary>A probe to pass to the target's prefill; then call <see cref="PredictFromProbe"/>.</summary>
    public HiddenStateProbe CreateProbe() => new(_header.ProbeLayer);

    /// <summary>Prediction from a probe that observed the prefill of a prompt of <paramref name="promptLength"/> tokens.</summary>
    /// <exception cref="InvalidOperationException">The probe saw no prefill.</exception>
    public ResponseLengthPrediction PredictFromProbe(HiddenStateProbe probe, int promptLength)
    {
        var features = probe.Features ?? throw new InvalidOperationException("the probe has not observed a prefill yet.");
        return PredictFromFeatures([WithLength(features, promptLength, _model.Config.MaxPositions)])[0];
    }

    IForwardObserver IPrefillProbingLengthPredictor.CreateProbe() => CreateProbe();

    ResponseLengthPrediction IPrefillProbingLengthPredictor.PredictFromProbe(IForwardObserver probe, int promptLength) =>
        PredictFromProbe(probe as HiddenStateProbe ?? throw new ArgumentException("the probe was not made by this predictor's CreateProbe.", nameof(probe)), promptLength);

    /// <summary>Predictions from raw features (as returned by <see cref="ExtractFeatures"/>).</summary>
    public ResponseLengthPrediction[] PredictFromFeatures(IReadOnlyList<float[]> features)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var x = Standardise(features, _header);
        return LengthHeadOutputs.ToPredictions(_net.forward(x), _header.Head, _header.Quantile);
    }

    /// <inheritdoc/>
    public ResponseLengthPrediction Predict(IReadOnlyList<int> promptIds) =>
        PredictFromFeatures(ExtractFeatures(_model, [promptIds.ToArray()], _header.ProbeLayer))[0];

    /// <summary>Saves the head with the model identity and the standardisation.</summary>
    public void Save(string path) => LengthPredictorFile.Save(path, _header, _net);

    internal static SelfProbeLengthPredictor FromFile(LengthPredictorHeader header, BinaryReader reader, CausalLanguageModel model)
    {
        TorchSharpNativeLoader.EnsureLoaded();
        var net = new ProbeMlpNet(header.FeatureMean.Length, header.Dim, header.Head.Outputs);
        net.load(reader);
        return new SelfProbeLengthPredictor(net, header, model);
    }

    /// <summary>The hidden-state features followed by the two prompt-length features.</summary>
    internal static float[] WithLength(float[] hidden, int promptLength, int maxPositions) =>
        [.. hidden, (float)promptLength / maxPositions, (float)(Math.Log(promptLength) / Math.Log(maxPositions))];

    internal static Tensor Standardise(IReadOnlyList<float[]> features, LengthPredictorHeader h)
    {
        int f = h.FeatureMean.Length;
        var data = new float[features.Count * f];
        for (int i = 0; i < features.Count; i++)
        {
            if (features[i].Length != f) throw new ArgumentException($"expected {f} features, got {features[i].Length}.");
            for (int j = 0; j < f; j++) data[i * f + j] = (features[i][j] - h.FeatureMean[j]) / h.FeatureStd[j];
        }
        return tensor(data, [features.Count, f]);
    }

    /// <summary>Frees the head (the model is not owned).</summary>
    public void Dispose() => _net.Dispose();
}
