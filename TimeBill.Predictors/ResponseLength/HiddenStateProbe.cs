using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// Captures, during a prefill, the residual stream of one layer reduced to the self-probe's features: the last
/// token's state and the mean over the prompt's tokens (copied to managed memory at once).
/// </summary>
public sealed class HiddenStateProbe : IForwardObserver
{
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
        var pooled = cat([hidden[-1], hidden.mean([0L])], 0);
        Features = pooled.data<float>().ToArray();
    }
}
