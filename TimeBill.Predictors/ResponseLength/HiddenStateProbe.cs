using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// Captures, during a prefill, the residual stream of one layer reduced to the self-probe's features: the last
/// token's state and the mean over the prompt's tokens (copied to managed memory at once). A prefill in chunks gives
/// the same features as one pass.
/// </summary>
internal sealed class HiddenStateProbe : IForwardObserver
{
    private float[]? _sum;
    private long _count;

    /// <summary>A probe of layer <paramref name="layer"/> (0-based).</summary>
    public HiddenStateProbe(int layer) => Layer = layer;

    /// <summary>The observed layer.</summary>
    public int Layer { get; }
    /// <summary>Last token's state followed by the mean state (<c>2 × hidden</c>); null before a prefill.</summary>
    public float[]? Features { get; private set; }

    /// <inheritdoc/>
    public void OnHiddenState(int layer, Tensor hidden)
    {
        if (layer != Layer) return;
        using var scope = NewDisposeScope();
        float[] last = hidden[-1].data<float>().ToArray();
        float[] sum = hidden.sum([0L]).data<float>().ToArray();
        if (_sum is null) _sum = sum;
        else for (int i = 0; i < sum.Length; i++) _sum[i] += sum[i];
        _count += hidden.shape[0];
        Features = [.. last, .. _sum.Select(v => (float)(v / _count))];
    }
}
