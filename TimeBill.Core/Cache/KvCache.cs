using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TimeBill.Core.Native;
using static TorchSharp.torch;

namespace TimeBill.Core.Cache;

/// <summary>
/// The key/value cache of one sequence, built for eviction. Per layer it holds preallocated
/// <c>[kvHeads, capacity, headDim]</c> keys and values and, for every entry, the position it was computed at.
/// All KV heads of a layer hold the same number of entries, but after eviction each head may hold different
/// positions. New tokens always continue at <see cref="NextPosition"/>, whatever was evicted, and keys are
/// cached already rotated, so compaction never re-rotates anything.
/// <para>
/// Eviction through <see cref="Keep"/> leaves the kept entries where they are and records where they live
/// (<see cref="Slots"/>): the kernel decode path attends through that table, so evicting moves no memory. Anything that
/// needs a layer's entries contiguous (the tensor views, appending several tokens, rollback, compaction) moves them to
/// the front first (<see cref="Pack"/>), once.
/// </para>
/// </summary>
public sealed unsafe class KvCache : IDisposable
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;
    private readonly Tensor[] _positions;
    private readonly int[] _lengths;
    private readonly nint[] _keyData;      // the tensors' contiguous CPU storage, shared with the kernel decode path
    private readonly nint[] _valueData;
    private readonly nint[] _positionData;
    private readonly int[] _ends;          // per layer, slots in use per head (the live entries plus the evicted ones not yet packed away)
    private readonly int[]?[] _slotTables; // per layer, [kvHeads, capacity]: where live entry i of KV head h is, while the layer holds entries in place
    private readonly bool[] _inPlace;      // per layer, whether its live entries are found through its slot table
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
        _keyData = new nint[layerCount];
        _valueData = new nint[layerCount];
        _positionData = new nint[layerCount];
        _ends = new int[layerCount];
        _slotTables = new int[]?[layerCount];
        _inPlace = new bool[layerCount];
        for (int layer = 0; layer < layerCount; layer++)
        {
            _keys[layer] = zeros(kvHeadCount, capacity, headDim).DetachFromDisposeScope();
            _values[layer] = zeros(kvHeadCount, capacity, headDim).DetachFromDisposeScope();
            _positions[layer] = zeros(new long[] { kvHeadCount, capacity }, dtype: ScalarType.Int64).DetachFromDisposeScope();
            _keyData[layer] = Address(_keys[layer]);
            _valueData[layer] = Address(_values[layer]);
            _positionData[layer] = Address(_positions[layer]);
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

    /// <summary>Valid keys of a layer, a <c>[kvHeads, length, headDim]</c> view (no copy; packs the layer first).</summary>
    public Tensor Keys(int layer)
    {
        Pack(layer);
        return _keys[layer].narrow(1, 0, _lengths[layer]);
    }

    /// <summary>Valid values of a layer, a <c>[kvHeads, length, headDim]</c> view (no copy; packs the layer first).</summary>
    public Tensor Values(int layer)
    {
        Pack(layer);
        return _values[layer].narrow(1, 0, _lengths[layer]);
    }

    /// <summary>Positions of a layer's valid entries, <c>[kvHeads, length]</c> int64 (view; packs the layer first).</summary>
    public Tensor Positions(int layer)
    {
        Pack(layer);
        return _positions[layer].narrow(1, 0, _lengths[layer]);
    }

    /// <summary>
    /// Whether <paramref name="layer"/> holds its entries in place after <see cref="Keep"/>: then live entry
    /// <c>i</c> of KV head <c>h</c> is at slot <c>Slots(layer)[h · capacity + i]</c> of the storage, else at slot <c>i</c>.
    /// </summary>
    public bool HoldsInPlace(int layer) => _inPlace[layer];

    /// <summary>
    /// The slot table of a layer holding its entries in place (<see cref="HoldsInPlace"/>): <c>[kvHeads, capacity]</c>,
    /// of which each head's first <see cref="Length"/> are its live entries' slots, ascending. Empty otherwise.
    /// </summary>
    public ReadOnlySpan<int> Slots(int layer) => _inPlace[layer] ? _slotTables[layer] : default;

    /// <summary>The positions held by one (layer, head), in cache order.</summary>
    public long[] PositionsOf(int layer, int kvHead) => Positions(layer)[kvHead].data<long>().ToArray();

    /// <summary>
    /// Appends <c>[kvHeads, T, headDim]</c> keys (already rotated) and values computed at positions
    /// <see cref="NextPosition"/>.. for one layer. Call <see cref="Advance"/> once all layers got the tokens.
    /// </summary>
    /// <exception cref="InvalidOperationException">The cache would exceed its capacity.</exception>
    public void Append(int layer, Tensor keys, Tensor values)
    {
        Pack(layer);
        int count = (int)keys.shape[1];
        int length = _lengths[layer];
        if (length + count > Capacity)
            throw new InvalidOperationException($"KV cache capacity {Capacity} exceeded: layer {layer} holds {length} entries and {count} more were appended.");
        _keys[layer].narrow(1, length, count).copy_(keys);
        _values[layer].narrow(1, length, count).copy_(values);
        using var positions = arange(NextPosition, NextPosition + count, dtype: ScalarType.Int64);
        _positions[layer].narrow(1, length, count).copy_(positions.unsqueeze(0));
        _lengths[layer] = _ends[layer] = length + count;
    }

    /// <summary>
    /// The whole key storage of a layer, <c>[kvHeads, capacity, headDim]</c>: the same memory as <see cref="Keys"/>, no
    /// copy, not packed. Each head's first <see cref="Length"/> slots are its entries, or the slots
    /// <see cref="Slots"/> lists while the layer <see cref="HoldsInPlace"/>.
    /// </summary>
    public ReadOnlySpan<float> KeyStorage(int layer) => new((void*)_keyData[layer], KvHeadCount * Capacity * HeadDim);

    /// <summary>The whole value storage of a layer, laid out as <see cref="KeyStorage"/>: the same memory as <see cref="Values"/>.</summary>
    public ReadOnlySpan<float> ValueStorage(int layer) => new((void*)_valueData[layer], KvHeadCount * Capacity * HeadDim);

    /// <summary>The positions of a layer's slots, <c>[kvHeads, capacity]</c>, laid out as <see cref="KeyStorage"/>: the same memory as <see cref="Positions"/>.</summary>
    public ReadOnlySpan<long> PositionStorage(int layer) => new((void*)_positionData[layer], KvHeadCount * Capacity);

    /// <summary>
    /// Appends one token's <c>[kvHeads, headDim]</c> keys (already rotated) and values, computed at
    /// <see cref="NextPosition"/>, to one layer without going through tensors (the kernel decode path).
    /// Call <see cref="Advance"/> once all layers got the token.
    /// </summary>
    /// <exception cref="ArgumentException">A span is not <c>[kvHeads, headDim]</c>.</exception>
    /// <exception cref="InvalidOperationException">The cache is full.</exception>
    public void AppendToken(int layer, ReadOnlySpan<float> keys, ReadOnlySpan<float> values)
    {
        int width = KvHeadCount * HeadDim;
        if (keys.Length != width || values.Length != width)
            throw new ArgumentException($"keys and values must hold [{KvHeadCount}, {HeadDim}] = {width} elements, got {keys.Length} and {values.Length}.");
        int length = _lengths[layer];
        if (length + 1 > Capacity)
            throw new InvalidOperationException($"KV cache capacity {Capacity} exceeded: layer {layer} holds {length} entries and 1 more was appended.");
        if (_ends[layer] + 1 > Capacity) Pack(layer); // the evicted entries' slots are needed now
        int slot = _ends[layer];
        var keyStorage = new Span<float>((void*)_keyData[layer], KvHeadCount * Capacity * HeadDim);
        var valueStorage = new Span<float>((void*)_valueData[layer], KvHeadCount * Capacity * HeadDim);
        var positions = new Span<long>((void*)_positionData[layer], KvHeadCount * Capacity);
        int[]? slots = _inPlace[layer] ? _slotTables[layer] : null;
        for (int head = 0; head < KvHeadCount; head++)
        {
            int entry = head * Capacity + slot;
            keys.Slice(head * HeadDim, HeadDim).CopyTo(keyStorage.Slice(entry * HeadDim, HeadDim));
            values.Slice(head * HeadDim, HeadDim).CopyTo(valueStorage.Slice(entry * HeadDim, HeadDim));
            positions[entry] = NextPosition;
            if (slots is not null) slots[head * Capacity + length] = slot;
        }
        _lengths[layer] = length + 1;
        _ends[layer] = slot + 1;
    }

    /// <summary>
    /// The index of the first live entry of (<paramref name="layer"/>, <paramref name="kvHead"/>) computed at
    /// <paramref name="position"/> or later (<see cref="Length"/> when none is): entries are in ascending position order,
    /// so this is where a sliding window starts.
    /// </summary>
    public int FirstEntryAtOrAfter(int layer, int kvHead, long position)
    {
        var positions = new ReadOnlySpan<long>((void*)_positionData[layer], KvHeadCount * Capacity).Slice(kvHead * Capacity, Capacity);
        int[]? slots = _inPlace[layer] ? _slotTables[layer] : null;
        int low = 0, high = _lengths[layer];
        while (low < high)
        {
            int middle = (low + high) >>> 1;
            long at = positions[slots is null ? middle : slots[kvHead * Capacity + middle]];
            if (at < position) low = middle + 1;
            else high = middle;
        }
        return low;
    }

    /// <summary>
    /// Copies entries <c>[start, start + count)</c> of every KV head of <paramref name="layer"/> into
    /// <paramref name="keys"/> and <paramref name="values"/>, each laid out <c>[kvHeads, count, headDim]</c>. The layer
    /// must hold those entries at their own positions (a prefill, nothing evicted): what a prefix cache keeps.
    /// </summary>
    /// <exception cref="InvalidOperationException">The entries are not positions <c>start..</c> in order.</exception>
    internal void CopyEntries(int layer, int start, int count, Span<float> keys, Span<float> values)
    {
        Pack(layer);
        var positions = new ReadOnlySpan<long>((void*)_positionData[layer], KvHeadCount * Capacity);
        if (start + count > _lengths[layer] || positions[start] != start || positions[start + count - 1] != start + count - 1)
            throw new InvalidOperationException($"layer {layer} does not hold positions {start}..{start + count - 1} at their own slots.");
        var keyStorage = new ReadOnlySpan<float>((void*)_keyData[layer], KvHeadCount * Capacity * HeadDim);
        var valueStorage = new ReadOnlySpan<float>((void*)_valueData[layer], KvHeadCount * Capacity * HeadDim);
        int run = count * HeadDim;
        for (int head = 0; head < KvHeadCount; head++)
        {
            int from = (head * Capacity + start) * HeadDim;
            keyStorage.Slice(from, run).CopyTo(keys.Slice(head * run, run));
            valueStorage.Slice(from, run).CopyTo(values.Slice(head * run, run));
        }
    }

    /// <summary>
    /// Appends <paramref name="count"/> entries computed at positions <c>Length(layer)..</c> to <paramref name="layer"/>,
    /// from <c>[kvHeads, count, headDim]</c> <paramref name="keys"/> and <paramref name="values"/> (as
    /// <see cref="CopyEntries"/> gives them). The layer must hold only its own positions so far; call
    /// <see cref="Advance"/> once every layer got the entries.
    /// </summary>
    /// <exception cref="InvalidOperationException">The cache would exceed its capacity, or the layer is not at <see cref="NextPosition"/>.</exception>
    internal void LoadEntries(int layer, int count, ReadOnlySpan<float> keys, ReadOnlySpan<float> values)
    {
        Pack(layer);
        int start = _lengths[layer];
        if (start != NextPosition) throw new InvalidOperationException($"layer {layer} holds {start} entries at position {NextPosition}: entries load only onto an unevicted prefix.");
        if (start + count > Capacity)
            throw new InvalidOperationException($"KV cache capacity {Capacity} exceeded: layer {layer} holds {start} entries and {count} more were loaded.");
        var keyStorage = new Span<float>((void*)_keyData[layer], KvHeadCount * Capacity * HeadDim);
        var valueStorage = new Span<float>((void*)_valueData[layer], KvHeadCount * Capacity * HeadDim);
        var positions = new Span<long>((void*)_positionData[layer], KvHeadCount * Capacity);
        int run = count * HeadDim;
        for (int head = 0; head < KvHeadCount; head++)
        {
            int to = (head * Capacity + start) * HeadDim;
            keys.Slice(head * run, run).CopyTo(keyStorage.Slice(to, run));
            values.Slice(head * run, run).CopyTo(valueStorage.Slice(to, run));
            for (int i = 0; i < count; i++) positions[head * Capacity + start + i] = start + i;
        }
        _lengths[layer] = _ends[layer] = start + count;
    }

    /// <summary>Moves <see cref="NextPosition"/> past tokens every layer has appended.</summary>
    public void Advance(int count) => NextPosition += count;

    /// <summary>
    /// Undoes the last <paramref name="count"/> tokens: removes from every layer its trailing entries computed at
    /// positions <c>NextPosition − count</c> and later (a token's entries are always appended last, evicted or not), and
    /// moves <see cref="NextPosition"/> back by <paramref name="count"/>. For a step whose token is discarded (a
    /// speculative token, or a profiled step repeated at the same KV length). Call it between steps, not inside one.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> negative or beyond <see cref="NextPosition"/>.</exception>
    public void Rollback(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, NextPosition);
        long first = NextPosition - count;
        for (int layer = 0; layer < LayerCount; layer++)
        {
            Pack(layer);
            // Every KV head of a layer appended the same tokens, so head 0's positions tell how many entries go.
            var positions = new ReadOnlySpan<long>((void*)_positionData[layer], _lengths[layer]);
            int length = positions.Length;
            while (length > 0 && positions[length - 1] >= first) length--;
            _lengths[layer] = _ends[layer] = length;
        }
        NextPosition = (int)first;
    }

    /// <summary>
    /// Keeps, for every KV head of <paramref name="layer"/>, the entries at <paramref name="keep"/>
    /// (<c>[kvHeads, n]</c> integer indices into the current entries, strictly ascending per head, so kept entries
    /// stay in cache order) and drops the rest. Kept entries keep their positions.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong shape, an index outside the current entries, or indices not strictly ascending.</exception>
    public void Compact(int layer, Tensor keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        if (keep.dim() != 2 || keep.shape[0] != KvHeadCount)
            throw new ArgumentException($"keep must be [{KvHeadCount}, n] indices, got [{string.Join(", ", keep.shape)}].", nameof(keep));
        using var indices = keep.to(ScalarType.Int32).contiguous();
        Compact(layer, indices.data<int>().ToArray(), (int)keep.shape[1]);
    }

    /// <summary>
    /// As <see cref="Compact(int, Tensor)"/> with the kept indices as <c>[kvHeads, <paramref name="count"/>]</c>
    /// in row-major order, each head's strictly ascending: entries move forward in place (no temporary tensors).
    /// </summary>
    /// <exception cref="ArgumentException">A wrong length, an index outside the layer, or a head's indices not strictly ascending.</exception>
    public void Compact(int layer, ReadOnlySpan<int> keep, int count)
    {
        Keep(layer, keep, count);
        Pack(layer);
    }

    /// <summary>
    /// Keeps the entries <see cref="Compact(int, ReadOnlySpan{int}, int)"/> would, without moving any: the layer then
    /// <see cref="HoldsInPlace"/> and its <see cref="Slots"/> say where the kept entries are. Costs a few microseconds
    /// where compaction moves half the layer; the kernel decode path reads the entries where they are, and the first
    /// use that needs them contiguous packs them.
    /// </summary>
    /// <exception cref="ArgumentException">A wrong length, an index outside the layer, or a head's indices not strictly ascending.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per request: no tier-0 loops
    public void Keep(int layer, ReadOnlySpan<int> keep, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)layer, (uint)LayerCount, nameof(layer));
        int length = _lengths[layer];
        if (count < 0 || count > length || keep.Length != (long)KvHeadCount * count)
            throw new ArgumentException($"keep must hold [{KvHeadCount}, n ≤ {length}] indices, got {keep.Length} for n = {count}.", nameof(keep));
        for (int head = 0; head < KvHeadCount; head++)
        {
            var row = keep.Slice(head * count, count);
            for (int i = 0; i < row.Length; i++)
            {
                if ((uint)row[i] >= (uint)length)
                    throw new ArgumentException($"keep holds an index outside 0..{length - 1}: {row[i]} (KV head {head}).", nameof(keep));
                if (i > 0 && row[i] <= row[i - 1])
                    throw new ArgumentException($"keep's indices of KV head {head} must be strictly ascending ({row[i - 1]} then {row[i]}).", nameof(keep));
            }
        }
        // Allocated once per cache, reused by every later eviction.
        var table = _slotTables[layer] ??= GC.AllocateUninitializedArray<int>(KvHeadCount * Capacity);
        bool inPlace = _inPlace[layer];
        for (int head = 0; head < KvHeadCount; head++)
        {
            var row = keep.Slice(head * count, count);
            var slots = table.AsSpan(head * Capacity, Capacity);
            // Ascending indices: row[i] ≥ i, so composing in place reads each old slot before it is overwritten.
            if (inPlace) for (int i = 0; i < count; i++) slots[i] = slots[row[i]];
            else row.CopyTo(slots);
        }
        _inPlace[layer] = true;
        _lengths[layer] = count;
    }

    /// <summary>
    /// Moves a layer's live entries, which <see cref="Keep"/> left where they were, to the front of its storage, in
    /// order, keeping their positions; nothing to do for a layer that does not <see cref="HoldsInPlace"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per request: no tier-0 loops
    public void Pack(int layer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_inPlace[layer]) return;
        int count = _lengths[layer];
        var table = _slotTables[layer]!;
        float* keys = (float*)_keyData[layer], values = (float*)_valueData[layer];
        long* positions = (long*)_positionData[layer];
        for (int head = 0; head < KvHeadCount; head++)
        {
            var row = table.AsSpan(head * Capacity, count);
            long baseEntry = (long)head * Capacity;
            for (int target = 0; target < count;)
            {
                // Move a run of consecutive kept entries at once; ascending slots never move an entry backwards.
                int source = row[target], run = 1;
                while (target + run < count && row[target + run] == source + run) run++;
                if (source != target)
                {
                    long from = (baseEntry + source) * HeadDim, to = (baseEntry + target) * HeadDim;
                    int width = run * HeadDim;
                    MoveDown(keys + from, keys + to, width);
                    MoveDown(values + from, values + to, width);
                    for (int i = 0; i < run; i++) positions[baseEntry + target + i] = positions[baseEntry + source + i];
                }
                target += run;
            }
        }
        _inPlace[layer] = false;
        _ends[layer] = count;
    }

    /// <summary>
    /// Copies <paramref name="count"/> floats from <paramref name="from"/> to the lower address <paramref name="to"/>,
    /// front to back (safe when the ranges overlap, since every element is read before anything above it is written).
    /// Inline vector copies: most runs are a single entry, for which a call to a general copy costs more than the copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MoveDown(float* from, float* to, int count)
    {
        int i = 0;
        for (; i + 2 * Vector256<float>.Count <= count; i += 2 * Vector256<float>.Count)
        {
            var first = Vector256.Load(from + i);
            var second = Vector256.Load(from + i + Vector256<float>.Count);
            Vector256.Store(first, to + i);
            Vector256.Store(second, to + i + Vector256<float>.Count);
        }
        for (; i < count; i++) to[i] = from[i];
    }

    /// <summary>The address of a contiguous CPU tensor's storage (<c>bytes</c> spans it without copying).</summary>
    private static nint Address(Tensor tensor)
    {
        fixed (byte* data = tensor.bytes) return (nint)data;
    }

    /// <summary>Empties the cache for a new sequence, keeping the allocation.</summary>
    public void Reset()
    {
        Array.Clear(_lengths);
        Array.Clear(_ends);
        Array.Clear(_inPlace);
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
