using TimeBill.Core.Cache;
using static TorchSharp.torch;

namespace TimeBill.Core.Model;

/// <summary>
/// Sees intermediate results of a forward pass: what eviction policies (attention statistics of the prompt's
/// queries) and probes (hidden states) need from prefill. Only passes given an observer pay for it. The
/// tensors belong to the forward pass and are freed when it ends: copy what you keep
/// (<c>clone().DetachFromDisposeScope()</c>) or reduce it right away.
/// </summary>
public interface IForwardObserver
{
    /// <summary>
    /// Called in every layer after the new tokens' keys and values are in the cache and before attention.
    /// <paramref name="queries"/> are the new tokens' rotated queries <c>[heads, T, headDim]</c>;
    /// <paramref name="cache"/> holds the layer's keys and values including the new tokens.
    /// </summary>
    void OnAttention(int layer, Tensor queries, KvCache cache) { }

    /// <summary>Called with the residual stream <c>[T, hidden]</c> after <paramref name="layer"/> (0-based).</summary>
    void OnHiddenState(int layer, Tensor hidden) { }
}
