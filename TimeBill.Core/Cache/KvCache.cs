using TimeBill.Core.Native;
using static TorchSharp.torch;

namespace TimeBill.Core.Cache;

/// <summary>
/// The key/value cache of one sequence, built for eviction. Per layer it holds preallocated
/// <c>[kvHeads, capacity, headDim]</c> keys and values and, for every entry, the position it was computed at.
/// All KV heads of a layer hold the same number of entries, but after eviction each head may hold different
/// positions. New tokens always continue at <see cref="NextPosition"/>, whatever was evicted, and keys are
/// cached already rotated, so compaction never re-rotates anything.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;
    private readonly Tensor[] _positions;
    private readonly int[] _lengths;
    private bool _disposed;

    /// <summary>Allocates an empty cache.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive dimension.</exception>
    public KvCache(int layerCount, int kvHeadCount, int headDim, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layerCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kvHeadCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        TorchSharpNativeLoader.EnsureLoaded();
        LayerCount = layerCount;
        KvHeadCount = kvHeadCount;
        HeadDim = headDim;
        Capacity = capacity;
        _keys = new Tensor[layerCount];
        _values = new Tensor[layerCount];
        _positions = new Tensor[layerCount];
        _lengths = new int[layerCount];
        for (int layer = 0; layer < layerCount; layer++)
        {
            _keys[layer] = zeros(kvHeadCount, capacity, headDim).DetachFromDisposeScope();
            _values[layer] = zeros(kvHeadCount, capacity, headDim).DetachFromDisposeScope();
            _positions[layer] = zeros(new long[] { kvHeadCount, capacity }, dtype: ScalarType.Int64).DetachFromDisposeScope();
        }
    }

    /// <summary>Number of layers.</summary>
    public int LayerCount { get; }
    /// <summary>Number of key/value heads per layer.</summary>
    public int KvHeadCount { get; }
    /// <summary>Width of one head.</summary>
    public int HeadDim { get; }
    /// <summary>Entries each (layer, head) can hold.</summary>
    public int Capacity { get; }

    /// <summary>The position the next token will be computed at; it only grows, eviction does not change it.</summary>
    public int NextPosition { get; private set; }

    /// <summary>Entries held now by every KV head of <paramref name="layer"/>.</summary>
    public int Length(int layer) => _lengths[layer];

    /// <summary>Valid keys of a layer, a <c>[kvHeads, length, headDim]</c> view (no copy).</summary>
    public Tensor Keys(int layer) => _keys[layer].narrow(1, 0, _lengths[layer]);

    /// <summary>Valid values of a layer, a <c>[kvHeads, length, headDim]</c> view (no copy).</summary>
    public Tensor Values(int layer) => _values[layer].narrow(1, 0, _lengths[layer]);

    /// <summary>Positions of a layer's valid entries, <c>[kvHeads, length]</c> int64 (view).</summary>
    public Tensor Positions(int layer) => _positions[layer].narrow(1, 0, _lengths[layer]);

    /// <summary>The positions held by one (layer, head), in cache order.</summary>
    public long[] PositionsOf(int layer, int kvHead) => Positions(layer)[kvHead].data<long>().ToArray();

    /// <summary>
    /// Appends <c>[kvHeads, T, headDim]</c> keys (already rotated) and values computed at positions
    /// <see cref="NextPosition"/>.. for one layer. Call <see cref="Advance"/> once all layers got the tokens.
    /// </summary>
    /// <exception cref="InvalidOperationException">The cache would exceed its capacity.</exception>
    public void Append(int layer, Tensor keys, Tensor values)
    {
        int count = (int)keys.shape[1];
        int length = _lengths[layer];
        if (length + count > Capacity)
            throw new InvalidOperationException($"KV cache capacity {Capacity} exceeded: layer {layer} holds {length} entries and {count} more were appended.");
        _keys[layer].narrow(1, length, count).copy_(keys);
        _values[layer].narrow(1, length, count).copy_(values);
        using var positions = arange(NextPosition, NextPosition + count, dtype: ScalarType.Int64);
        _positions[layer].narrow(1, length, count).copy_(positions.unsqueeze(0));
        _lengths[layer] = length + count;
    }

    /// <summary>Moves <see cref="NextPosition"/> past tokens every layer has appended.</summary>
    public void Advance(int count) => NextPosition += count;

    /// <summary>
    /// Keeps, for every KV head of <paramref name="layer"/>, the entries at <paramref name="keep"/>
    /// (<c>[kvHeads, n]</c> int64 indices into the current entries, ascending keeps the original order) and
    /// drops the rest. Kept entries keep their positions.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong shape or an index outside the current entries.</exception>
    public void Compact(int layer, Tensor keep)
    {
        int length = _lengths[layer];
        if (keep.dim() != 2 || keep.shape[0] != KvHeadCount || keep.shape[1] > length)
            throw new ArgumentException($"keep must be [{KvHeadCount}, n ≤ {length}] indices, got [{string.Join(", ", keep.shape)}].", nameof(keep));
        int n = (int)keep.shape[1];
        if (n > 0 && (keep.min().item<long>() < 0 || keep.max().item<long>() >= length))
            throw new ArgumentException($"keep holds an index outside 0..{length - 1}.", nameof(keep));

        using var scope = NewDisposeScope();
        var index = keep.to(ScalarType.Int64);
        var rows = index.unsqueeze(-1).expand(KvHeadCount, n, HeadDim);
        var keys = Keys(layer).gather(1, rows);
        var values = Values(layer).gather(1, rows);
        var positions = Positions(layer).gather(1, index);
        _keys[layer].narrow(1, 0, n).copy_(keys);
        _values[layer].narrow(1, 0, n).copy_(values);
        _positions[layer].narrow(1, 0, n).copy_(positions);
        _lengths[layer] = n;
    }

    /// <summary>Empties the cache for a new sequence, keeping the allocation.</summary>
    public void Reset()
    {
        Array.Clear(_lengths);
        NextPosition = 0;
    }

    /// <summary>Frees the native tensors.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _keys.Concat(_values).Concat(_positions)) t.Dispose();
    }
}
