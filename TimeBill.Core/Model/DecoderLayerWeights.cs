using static TorchSharp.torch;

namespace TimeBill.Core.Model;

/// <summary>
/// The weights of one decoder layer (norms and biases float32, matrices as loaded), with the q/k/v projections fused into one matrix (rows: q,
/// then k, then v) and gate/up fused into another, so a decode step runs two matrix products where the
/// checkpoint has five.
/// </summary>
internal sealed class DecoderLayerWeights : IDisposable
{
    internal DecoderLayerWeights(Tensor attentionNorm, WeightMatrix qkv, Tensor? qkvBias, WeightMatrix output, Tensor mlpNorm, WeightMatrix gateUp, WeightMatrix down,
        Tensor? queryNorm = null, Tensor? keyNorm = null)
    {
        QueryNorm = queryNorm;
        KeyNorm = keyNorm;
        AttentionNorm = attentionNorm;
        Qkv = qkv;
        QkvBias = qkvBias;
        Output = output;
        MlpNorm = mlpNorm;
        GateUp = gateUp;
        Down = down;
    }

    /// <summary>RMSNorm weight before attention [hidden].</summary>
    public Tensor AttentionNorm { get; }
    /// <summary>Fused q/k/v projection [(heads + 2·kvHeads)·headDim, hidden].</summary>
    public WeightMatrix Qkv { get; }
    /// <summary>Fused q/k/v bias (Qwen2), or null.</summary>
    public Tensor? QkvBias { get; }
    /// <summary>Per-head RMSNorm weight of the queries [headDim] (Qwen3), or null.</summary>
    public Tensor? QueryNorm { get; }
    /// <summary>Per-head RMSNorm weight of the keys [headDim] (Qwen3), or null.</summary>
    public Tensor? KeyNorm { get; }
    /// <summary>Attention output projection [hidden, heads·headDim].</summary>
    public WeightMatrix Output { get; }
    /// <summary>RMSNorm weight before the MLP [hidden].</summary>
    public Tensor MlpNorm { get; }
    /// <summary>Fused gate/up projection [2·intermediate, hidden].</summary>
    public WeightMatrix GateUp { get; }
    /// <summary>Down projection [hidden, intermediate].</summary>
    public WeightMatrix Down { get; }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var t in new[] { AttentionNorm, QkvBias, QueryNorm, KeyNorm, MlpNorm }) t?.Dispose();
        foreach (var m in new[] { Qkv, Output, GateUp, Down }) m.Dispose();
    }
}
