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

    /// <summary>
    /// How many of a fresh prefill's last queries this observer wants the attention probabilities of, through
    /// <see cref="OnPrefillAttention"/> (0, the default: none, and the prefill keeps nothing for it).
    /// </summary>
    int PrefillAttentionQueries => 0;

    /// <summary>
    /// Called in every layer of a fresh prefill (the cache held nothing before the pass) after attention, with the
    /// probabilities of the last <see cref="PrefillAttentionQueries"/> queries (or all, when the prompt is shorter).
    /// A prefill in several chunks calls it only for the first chunk.
    /// </summary>
    void OnPrefillAttention(int layer, PrefillAttention attention) { }

    /// <summary>
    /// How many of a prompt's last tokens this observer must see run through the model. A prefix restored from the
    /// engine's prefix cache before them is not run, so it is not observed; the default, <see cref="int.MaxValue"/>,
    /// asks for every token (no prefix is reused while this observer watches).
    /// </summary>
    int ObservedPromptTokens => int.MaxValue;

    /// <summary>Called with the residual stream <c>[T, hidden]</c> after <paramref name="layer"/> (0-based).</summary>
    void OnHiddenState(int layer, Tensor hidden) { }
}
