using System.Runtime.InteropServices;

namespace TimeBill.Core.Cache;

/// <summary>
/// Keys and values of prompt prefixes kept across jobs, so a prompt that starts like an earlier one prefills only
/// the rest. Prefixes are stored in blocks of <see cref="BlockTokens"/> tokens, each keyed by its tokens and its
/// parent block (the whole prefix before it), so prompts that share a system prompt share its blocks instead of
/// holding a copy each. Memory is bounded by a byte budget: the least recently used block that no other block
/// continues and no pin holds goes first. Restoring copies the blocks into the job's own cache, so a job's
/// eviction never touches what is kept here. Thread-safe.
/// </summary>
public sealed unsafe class PrefixCache : IDisposable
{
    /// <summary>Tokens per block: a match is used in whole blocks, so up to this many minus one tokens are prefilled again.</summary>
    public const int BlockTokens = 16;

    private readonly Dictionary<BlockKey, Block> _blocks = [];
    private readonly Lock _lock = new();
    private readonly int _layerCount, _kvHeadCount, _headDim;
    private long _clock;
    private bool _disposed;

    /// <summary>An empty prefix cache for caches of this shape, holding at most <paramref name="byteBudget"/> bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive dimension or a negative budget.</exception>
    public PrefixCache(int layerCount, int kvHeadCount, int headDim, long byteBudget)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layerCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kvHeadCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        ArgumentOutOfRangeException.ThrowIfNegative(byteBudget);
        (_layerCount, _kvHeadCount, _headDim, ByteBudget) = (layerCount, kvHeadCount, headDim, byteBudget);
        BlockBytes = BytesPerBlock(layerCount, kvHeadCount, headDim);
    }

    /// <summary>Bytes of one block of a model with these dimensions: keys and values of every layer for <see cref="BlockTokens"/> tokens.</summary>
    public static long BytesPerBlock(int layerCount, int kvHeadCount, int headDim) =>
        (long)layerCount * 2 * kvHeadCount * BlockTokens * headDim * sizeof(float);

    /// <summary>The most bytes the blocks may hold.</summary>
    public long ByteBudget { get; }
    /// <summary>Bytes of one block (keys and values of every layer for <see cref="BlockTokens"/> tokens).</summary>
    public long BlockBytes { get; }
    /// <summary>Bytes the blocks hold now.</summary>
    public long BytesInUse { get { lock (_lock) return _blocks.Count * BlockBytes; } }
    /// <summary>Blocks held now.</summary>
    public int BlockCount { get { lock (_lock) return _blocks.Count; } }

    /// <summary>How many leading tokens of <paramref name="prompt"/> <see cref="Restore"/> would load, at most <paramref name="limit"/>; touches nothing.</summary>
    public int Match(ReadOnlySpan<int> prompt, int limit)
    {
        lock (_lock) return Chain(prompt, limit, touch: false).Count * BlockTokens;
    }

    /// <summary>
    /// Loads the longest cached prefix of <paramref name="prompt"/> (whole blocks, at most <paramref name="limit"/>
    /// tokens) into the empty <paramref name="cache"/> and returns its length; the blocks become the most recently used.
    /// </summary>
    /// <exception cref="ArgumentException">The cache is not empty or has another shape.</exception>
    public int Restore(ReadOnlySpan<int> prompt, KvCache cache, int limit)
    {
        ArgumentNullException.ThrowIfNull(cache);
        CheckShape(cache);
        if (cache.NextPosition != 0) throw new ArgumentException("a prefix loads only into an empty cache.", nameof(cache));
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var chain = Chain(prompt, limit, touch: true);
            foreach (var block in chain)
            {
                for (int layer = 0; layer < _layerCount; layer++)
                    cache.LoadEntries(layer, BlockTokens, block.Keys(layer), block.Values(layer));
                cache.Advance(BlockTokens);
            }
            return chain.Count * BlockTokens;
        }
    }

    /// <summary>
    /// Keeps the whole blocks of <paramref name="prompt"/>'s first <paramref name="length"/> tokens that are not kept
    /// yet, copied from <paramref name="cache"/>, which must hold those positions unevicted (right after prefill).
    /// Blocks that do not fit the budget after evicting everything evictable are not stored.
    /// </summary>
    public void Store(ReadOnlySpan<int> prompt, KvCache cache, int length)
    {
        ArgumentNullException.ThrowIfNull(cache);
        CheckShape(cache);
        length = Math.Min(length, Math.Min(prompt.Length, cache.NextPosition));
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Block? parent = null;
            var held = new List<Block>(); // the chain so far, kept from eviction while its next block makes room
            try
            {
                for (int start = 0; start + BlockTokens <= length; start += BlockTokens)
                {
                    var key = new BlockKey(parent, prompt.Slice(start, BlockTokens));
                    if (!_blocks.TryGetValue(key, out var block))
                    {
                        if (!MakeRoom()) break;
                        block = new Block(key, parent, BlockBytes, _kvHeadCount * BlockTokens * _headDim);
                        for (int layer = 0; layer < _layerCount; layer++)
                            cache.CopyEntries(layer, start, BlockTokens, block.Keys(layer), block.Values(layer));
                        _blocks.Add(key, block);
                        if (parent is not null) parent.Children++;
                    }
                    block.Pins++;
                    held.Add(block);
                    parent = block;
                }
            }
            finally
            {
                foreach (var block in held) block.Pins--;
            }
            TouchParentsLast(parent);
        }
    }

    /// <summary>
    /// Keeps <paramref name="prompt"/>'s cached blocks (as far as they are cached) from eviction until the returned
    /// pin is disposed; pins count, so two pins on one prefix need two disposals.
    /// </summary>
    public IDisposable Pin(ReadOnlySpan<int> prompt)
    {
        lock (_lock)
        {
            var chain = Chain(prompt, prompt.Length, touch: true);
            foreach (var block in chain) block.Pins++;
            return new PinHandle(this, chain);
        }
    }

    /// <summary>Drops every block that no pin holds.</summary>
    public void Clear()
    {
        lock (_lock)
            while (EvictOne()) { }
    }

    /// <summary>Frees every block, pinned or not.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var block in _blocks.Values) block.Free();
            _blocks.Clear();
        }
    }

    private void CheckShape(KvCache cache)
    {
        if (cache.LayerCount != _layerCount || cache.KvHeadCount != _kvHeadCount || cache.HeadDim != _headDim)
            throw new ArgumentException($"the cache is [{cache.LayerCount} layers, {cache.KvHeadCount} KV heads, {cache.HeadDim}]; this prefix cache holds [{_layerCount}, {_kvHeadCount}, {_headDim}].", nameof(cache));
    }

    /// <summary>The cached blocks that start <paramref name="prompt"/>, in order, covering at most <paramref name="limit"/> tokens.</summary>
    private List<Block> Chain(ReadOnlySpan<int> prompt, int limit, bool touch)
    {
        var chain = new List<Block>();
        Block? parent = null;
        for (int start = 0; start + BlockTokens <= Math.Min(limit, prompt.Length); start += BlockTokens)
        {
            if (!_blocks.TryGetValue(new BlockKey(parent, prompt.Slice(start, BlockTokens)), out var block)) break;
            chain.Add(block);
            parent = block;
        }
        if (touch && parent is not null) TouchParentsLast(parent);
        return chain;
    }

    // A chain's parents get newer use marks than their children, so the least recently used block is a leaf.
    private void TouchParentsLast(Block? last)
    {
        for (var block = last; block is not null; block = block.Parent) block.LastUse = ++_clock;
    }

    private bool MakeRoom()
    {
        while ((_blocks.Count + 1) * BlockBytes > ByteBudget)
            if (!EvictOne()) return false;
        return true;
    }

    private bool EvictOne()
    {
        Block? oldest = null;
        foreach (var block in _blocks.Values)
            if (block.Children == 0 && block.Pins == 0 && (oldest is null || block.LastUse < oldest.LastUse)) oldest = block;
        if (oldest is null) return false;
        _blocks.Remove(oldest.Key);
        if (oldest.Parent is { } parent) parent.Children--;
        oldest.Free();
        return true;
    }

    private void Unpin(List<Block> chain)
    {
        lock (_lock)
            foreach (var block in chain) block.Pins--;
    }

    private sealed class PinHandle(PrefixCache owner, List<Block> chain) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) owner.Unpin(chain);
        }
    }

    /// <summary>A block's identity: its parent block (by reference) and its own tokens.</summary>
    private readonly struct BlockKey : IEquatable<BlockKey>
    {
        private readonly Block? _parent;
        private readonly int[] _tokens;
        private readonly int _hash;

        public BlockKey(Block? parent, ReadOnlySpan<int> tokens)
        {
            _parent = parent;
            _tokens = tokens.ToArray();
            var hash = new HashCode();
            hash.Add(parent);
            hash.AddBytes(MemoryMarshal.AsBytes(tokens));
            _hash = hash.ToHashCode();
        }

        public bool Equals(BlockKey other) => ReferenceEquals(_parent, other._parent) && _tokens.AsSpan().SequenceEqual(other._tokens);
        public override bool Equals(object? obj) => obj is BlockKey other && Equals(other);
        public override int GetHashCode() => _hash;
    }

    /// <summary>One block: keys and values of every layer, <c>[kvHeads, BlockTokens, headDim]</c> each, in native memory.</summary>
    private sealed class Block(BlockKey key, Block? parent, long bytes, int layerFloats)
    {
        private float* _data = (float*)NativeMemory.Alloc((nuint)bytes);

        public BlockKey Key { get; } = key;
        public Block? Parent { get; } = parent;
        public long LastUse { get; set; }
        public int Children { get; set; }
        public int Pins { get; set; }

        public Span<float> Keys(int layer) => new(_data + (long)layer * 2 * layerFloats, layerFloats);
        public Span<float> Values(int layer) => new(_data + ((long)layer * 2 + 1) * layerFloats, layerFloats);

        public void Free()
        {
            NativeMemory.Free(_data);
            _data = null;
        }
    }
}
