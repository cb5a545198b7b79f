using TimeBill.Core.Cache;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>
/// Records, per layer, the attention mass every cached entry receives from <b>all</b> prompt queries (H2O's
/// accumulated attention), summed over the query heads of each KV head's group. The attention matrix is never
/// materialised: queries are processed <see cref="ChunkSize"/> at a time, so the extra memory is
/// <c>O(heads·chunk·Nx)</c>, and the cost is one more attention pass over the prompt inside prefill.
/// </summary>
internal sealed class AccumulatedAttentionCapture : EvictionCapture
{
    private readonly Tensor?[] _mass;

    /// <summary>Creates a capture for a model with <paramref name="layerCount"/> layers.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive count or chunk size.</exception>
    public AccumulatedAttentionCapture(EvictionPolicy policy, int layerCount, int chunkSize = 128) : base(policy)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layerCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        ChunkSize = chunkSize;
        _mass = new Tensor?[layerCount];
    }

    /// <summary>Queries scored at once.</summary>
    public int ChunkSize { get; }

    /// <inheritdoc />
    public override void OnAttention(int layer, Tensor queries, KvCache cache)
    {
        using var scope = NewDisposeScope();
        int t = (int)queries.shape[1], length = cache.Length(layer);
        var mass = zeros(cache.KvHeadCount, length);
        if (_mass[layer] is { } previous)
            mass.narrow(1, 0, previous.shape[1]).add_(previous);
        for (int start = 0; start < t; start += ChunkSize)
        {
            using var chunkScope = NewDisposeScope();
            int n = Math.Min(ChunkSize, t - start);
            var positions = arange(cache.NextPosition + start, cache.NextPosition + start + n, dtype: ScalarType.Int64);
            mass.add_(SummedAttention(queries.narrow(1, start, n), positions, cache, layer));
        }
        var kept = mass.DetachFromDisposeScope();
        _mass[layer]?.Dispose();
        _mass[layer] = kept;
    }

    /// <inheritdoc />
    protected override Tensor? StatisticOrNull(int layer) => _mass[layer];

    /// <inheritdoc />
    protected override void DisposeTensors()
    {
        foreach (var t in _mass) t?.Dispose();
    }
}
