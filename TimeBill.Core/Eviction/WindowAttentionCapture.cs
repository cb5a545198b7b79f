using TimeBill.Core.Cache;
using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>
/// Records, per layer, the attention the last <see cref="WindowSize"/> prompt queries pay to every cached entry,
/// summed over the window and over the query heads of each KV head's group (SnapKV's observation window, TOVA's
/// last query). It keeps the window's rotated queries (a few KB) so a prefill in chunks gives the same result as
/// one pass, and recomputes the window's attention over the cache after each chunk: <c>O(w·Nx)</c> per layer and
/// chunk, inside prefill, so <see cref="EvictionPolicy.Evict"/> itself only ranks and gathers.
/// </summary>
internal sealed class WindowAttentionCapture : EvictionCapture
{
    private readonly Tensor?[] _queries;
    private readonly Tensor?[] _positions;
    private readonly Tensor?[] _attention;

    /// <summary>Creates a capture of the last <paramref name="windowSize"/> queries of a model with <paramref name="layerCount"/> layers.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive size or count.</exception>
    public WindowAttentionCapture(EvictionPolicy policy, int layerCount, int windowSize) : base(policy)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layerCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowSize);
        WindowSize = windowSize;
        _queries = new Tensor?[layerCount];
        _positions = new Tensor?[layerCount];
        _attention = new Tensor?[layerCount];
    }

    /// <summary>Number of last prompt queries observed.</summary>
    public int WindowSize { get; }

    /// <inheritdoc />
    public override int ObservedPromptTokens => WindowSize;

    /// <inheritdoc />
    public override void OnAttention(int layer, Tensor queries, KvCache cache)
    {
        using var scope = NewDisposeScope();
        int t = (int)queries.shape[1];
        int take = Math.Min(WindowSize, t);
        var newQueries = queries.narrow(1, t - take, take);
        var newPositions = arange(cache.NextPosition + t - take, cache.NextPosition + t, dtype: ScalarType.Int64);
        Tensor windowQueries = newQueries, windowPositions = newPositions;
        if (_queries[layer] is { } previous && take < WindowSize)
        {
            // A chunk shorter than the window: carry the previous chunks' last queries over.
            windowQueries = cat([previous, newQueries], 1);
            windowPositions = cat([_positions[layer]!, newPositions], 0);
            int n = (int)windowQueries.shape[1], keep = Math.Min(WindowSize, n);
            windowQueries = windowQueries.narrow(1, n - keep, keep);
            windowPositions = windowPositions.narrow(0, n - keep, keep);
        }
        Replace(_queries, layer, windowQueries.contiguous());
        Replace(_positions, layer, windowPositions.contiguous());
        // A fresh prefill hands over the window's probabilities it computed itself (OnPrefillAttention); a later
        // chunk attends through the cache, so the window's attention is recomputed over every entry.
        if (cache.Length(layer) != t) Replace(_attention, layer, SummedAttention(windowQueries, windowPositions, cache, layer));
    }

    /// <inheritdoc />
    public override int PrefillAttentionQueries => WindowSize;

    /// <inheritdoc />
    public override void OnPrefillAttention(int layer, PrefillAttention attention)
    {
        ArgumentNullException.ThrowIfNull(attention);
        using var scope = NewDisposeScope();
        Replace(_attention, layer, attention.SummedOverLastQueries(Math.Min(WindowSize, attention.QueryCount)));
    }

    private static void Replace(Tensor?[] slots, int layer, Tensor value)
    {
        var copy = value.clone().DetachFromDisposeScope();
        slots[layer]?.Dispose();
        slots[layer] = copy;
    }

    /// <inheritdoc />
    protected override Tensor? StatisticOrNull(int layer) => _attention[layer];

    /// <inheritdoc />
    protected override void DisposeTensors()
    {
        foreach (var t in _queries.Concat(_positions).Concat(_attention)) t?.Dispose();
    }
}
