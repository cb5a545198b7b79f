using System.Runtime.CompilerServices;
using TimeBill.Core.Cache;
using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>
/// What a policy records during prefill (passed to the forward pass as its <see cref="IForwardObserver"/>), reduced
/// on the fly to per-entry statistics so the prefill's own tensors can be freed. One capture serves one prefill,
/// which may come in several chunks; it owns native tensors, so dispose it.
/// </summary>
public abstract class EvictionCapture : IForwardObserver, IDisposable
{
    private bool _disposed;

    /// <summary>The policy that made the capture.</summary>
    public EvictionPolicy Policy { get; }

    /// <summary>Creates a capture for <paramref name="policy"/>.</summary>
    protected EvictionCapture(EvictionPolicy policy) => Policy = policy ?? throw new ArgumentNullException(nameof(policy));

    /// <inheritdoc />
    public abstract void OnAttention(int layer, Tensor queries, KvCache cache);

    /// <inheritdoc />
    public virtual int PrefillAttentionQueries => 0;

    /// <inheritdoc />
    public virtual int ObservedPromptTokens => int.MaxValue;

    /// <inheritdoc />
    public virtual void OnPrefillAttention(int layer, PrefillAttention attention) { }

    /// <summary>
    /// The per-entry statistic recorded for <paramref name="layer"/>, <c>[kvHeads, length]</c> aligned with the cache's
    /// current entries.
    /// </summary>
    /// <exception cref="InvalidOperationException">The layer was not observed, or the cache changed since.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per layer and request: no tier-0 code
    public Tensor Statistic(int layer, KvCache cache)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(cache);
        var statistic = StatisticOrNull(layer)
            ?? throw new InvalidOperationException($"the {Policy.Name} capture saw no prefill for layer {layer}: pass it as the observer of this cache's prefill.");
        if (statistic.shape[1] != cache.Length(layer) || statistic.shape[0] != cache.KvHeadCount)
            throw new InvalidOperationException(
                $"the {Policy.Name} capture observed {statistic.shape[1]} entries in layer {layer} but the cache holds {cache.Length(layer)}: evict right after the prefill the capture observed.");
        return statistic;
    }

    /// <summary>The recorded statistic of a layer, or <c>null</c> when none was recorded.</summary>
    protected abstract Tensor? StatisticOrNull(int layer);

    /// <summary>Frees the recorded tensors.</summary>
    protected abstract void DisposeTensors();

    /// <summary>Frees the native tensors.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposeTensors();
        GC.SuppressFinalize(this);
    }

    /// <summary>Positions <c>[T]</c> of the queries of the forward pass in progress.</summary>
    protected static Tensor QueryPositions(KvCache cache, long count) =>
        arange(cache.NextPosition, cache.NextPosition + count, dtype: ScalarType.Int64);

    /// <summary>
    /// Attention probabilities of <paramref name="queries"/> <c>[heads, n, hd]</c> at <paramref name="queryPositions"/>
    /// <c>[n]</c> over the layer's cached keys, with the causal mask by position, summed over the queries and over the
    /// query heads of each KV head's group: <c>[kvHeads, length]</c>.
    /// </summary>
    protected static Tensor SummedAttention(Tensor queries, Tensor queryPositions, KvCache cache, int layer)
    {
        int heads = (int)queries.shape[0], n = (int)queries.shape[1], hd = (int)queries.shape[2], kvh = cache.KvHeadCount;
        int group = heads / kvh;
        var keys = cache.Keys(layer);
        var grouped = queries.reshape(kvh, group * n, hd);
        var scores = grouped.matmul(keys.transpose(1, 2)) * (1.0 / Math.Sqrt(hd)); // [kvh, g·n, L]
        var visible = cache.Positions(layer).unsqueeze(1) <= queryPositions.view(1, n, 1); // [kvh, n, L]
        var mask = visible.unsqueeze(1).expand(kvh, group, n, visible.shape[2]).reshape(kvh, group * n, -1);
        return scores.masked_fill(mask.logical_not(), float.NegativeInfinity).softmax(-1).sum(1);
    }
}
