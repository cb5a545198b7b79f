using System.Security.Cryptography;
using System.Text;
using TimeBill.Core.Cache;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Native;
using static TorchSharp.torch;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// The <see cref="IProfilingTarget"/> of a <see cref="CausalLanguageModel"/> on TorchSharp.
/// <list type="bullet">
/// <item>A prefill runs <c>Nx</c> random token ids through the whole model into an emptied KV cache (one cache is
/// reused and reset, as a long-running host does; allocating its memory is not part of a prefill).</item>
/// <item>A prefill runs in the engine's chunks, as generation runs it.</item>
/// <item>A warm prefill restores a prefix of the same random prompt from a prefix cache of its own (stored untimed in
/// <see cref="PrepareCachedPrefill"/>) and prefills the tokens after it, as a job with a warm prefix does.</item>
/// <item>A decode step runs one token through the first ℓ layers and the head on the decode kernels; every skipped layer still computes
/// and caches the token's keys and values from the exited hidden state (the predictive-exit design), which is why
/// a skipped layer is cheap but not free. The form <c>ℓ·(p1·Nkv + q1) + h</c> still holds: the skipped layers'
/// projections cost <c>(L − ℓ)·k</c>, linear in ℓ.</item>
/// <item><see cref="PrepareDecodeStep"/> refills a second cache with <c>Nkv</c> random (already rotated) keys and
/// values at positions 0..Nkv−1 (attention time does not depend on the values), or, asked for the same length right
/// after a step, rolls that step's token back.</item>
/// </list>
/// Times depend on the shape, not on the weights, so <see cref="ModelIdentity"/> is the architecture and a shape hash
/// (<see cref="IdentityOf"/>).
/// </summary>
internal sealed class ModelProfilingTarget : IProfilingTarget, IDisposable
{
    private readonly CausalLanguageModel _model;
    private readonly GenerationEngine _engine;
    private readonly float[] _logits;
    private readonly int[] _tokens;
    private readonly KvCache _prefillCache;
    private readonly KvCache _decodeCache;
    private readonly PrefixCache _prefixes;
    private readonly Tensor _randomKeys;
    private readonly Tensor _randomValues;
    private readonly int _maxKv;
    private int _prepared = -1; // the KV length the decode cache was last filled to
    private bool _disposed;

    /// <summary>
    /// Wraps <paramref name="engine"/> (not owned) for profiling prompts up to <paramref name="maxPromptLength"/> and KV
    /// lengths up to <paramref name="maxKvLength"/>: prefills run as the engine runs them (in chunks), steps on its
    /// decode kernels. Not to be used while the engine runs jobs.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="engine"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A length below 1 or beyond the model's context.</exception>
    public ModelProfilingTarget(GenerationEngine engine, int maxPromptLength, int maxKvLength, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        var model = engine.Model;
        _logits = new float[model.Config.VocabSize];
        int context = model.Config.MaxPositions;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPromptLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxPromptLength, context);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKvLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxKvLength, context - 1);
        TorchSharpNativeLoader.EnsureLoaded();
        _model = model;
        _maxKv = maxKvLength;
        var random = new Random(seed);
        _tokens = Enumerable.Range(0, maxPromptLength).Select(_ => random.Next(model.Config.VocabSize)).ToArray();
        _prefillCache = model.CreateCache(maxPromptLength);
        _decodeCache = model.CreateCache(maxKvLength + 1);
        var config = model.Config;
        _prefixes = new PrefixCache(config.LayerCount, config.KvHeadCount, config.HeadDim,
            (maxPromptLength / PrefixCache.BlockTokens + 1) * PrefixCache.BytesPerBlock(config.LayerCount, config.KvHeadCount, config.HeadDim));
        using (var scope = NewDisposeScope())
        {
            var generator = new TorchSharp.torch.Generator((ulong)seed);
            _randomKeys = randn([config.KvHeadCount, maxKvLength, config.HeadDim], generator: generator).MoveToOuterDisposeScope();
            _randomValues = randn([config.KvHeadCount, maxKvLength, config.HeadDim], generator: generator).MoveToOuterDisposeScope();
        }
    }

    /// <inheritdoc />
    public string ModelIdentity => IdentityOf(_model.Config);

    /// <summary>
    /// <c>arch-L{layers}-d{hidden}-{hash}</c>, the hash over every shape field that changes the work per token
    /// (architecture, widths, heads, vocabulary, tied head, biases); norms, RoPE constants and token ids do not.
    /// </summary>
    public static string IdentityOf(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string shape = string.Join(',', config.Architecture, config.HiddenSize, config.IntermediateSize, config.LayerCount,
            config.HeadCount, config.KvHeadCount, config.HeadDim, config.VocabSize, config.TieWordEmbeddings, config.AttentionBias);
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(shape)))[..12];
        return $"{config.Architecture.ToString().ToLowerInvariant()}-L{config.LayerCount}-d{config.HiddenSize}-{hash}";
    }

    /// <inheritdoc />
    public string DataType => _engine.WeightFormat;

    /// <inheritdoc />
    public int ThreadCount => get_num_threads();

    /// <inheritdoc />
    public int MaxContext => _model.Config.MaxPositions;

    /// <inheritdoc />
    public int LayerCount => _model.Config.LayerCount;

    /// <inheritdoc />
    public int PrefillQueryBlock => CausalLanguageModel.PrefillQueryBlock;

    /// <inheritdoc />
    public int PrefillChunk => _engine.Options.PrefillChunkSize;

    /// <inheritdoc />
    public void Prefill(int promptLength)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(promptLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(promptLength, _tokens.Length);
        _prefillCache.Reset();
        _engine.Prefill(_tokens.AsSpan(0, promptLength), _prefillCache, _logits);
    }

    /// <inheritdoc />
    public bool SupportsCachedPrefill => true;

    /// <inheritdoc />
    public void PrepareCachedPrefill(int cachedLength)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckCached(cachedLength, 0);
        if (_prefixes.Match(_tokens, cachedLength) == cachedLength) return;
        _prefillCache.Reset();
        _engine.Prefill(_tokens.AsSpan(0, cachedLength), _prefillCache, _logits);
        _prefixes.Store(_tokens, _prefillCache, cachedLength);
    }

    /// <inheritdoc />
    public void Prefill(int cachedLength, int newLength)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckCached(cachedLength, newLength);
        _prefillCache.Reset();
        if (_prefixes.Restore(_tokens, _prefillCache, cachedLength) != cachedLength)
            throw new InvalidOperationException($"the {cachedLength}-token prefix is not cached: call PrepareCachedPrefill first.");
        _engine.Prefill(_tokens.AsSpan(cachedLength, newLength), _prefillCache, _logits);
    }

    private void CheckCached(int cachedLength, int newLength)
    {
        if (cachedLength < PrefixCache.BlockTokens || cachedLength % PrefixCache.BlockTokens != 0)
            throw new ArgumentOutOfRangeException(nameof(cachedLength), cachedLength, $"a cached length is a positive multiple of {PrefixCache.BlockTokens}.");
        ArgumentOutOfRangeException.ThrowIfNegative(newLength);
        if (cachedLength + newLength > _tokens.Length)
            throw new ArgumentOutOfRangeException(nameof(newLength), newLength, $"{cachedLength} cached and {newLength} new tokens exceed the {_tokens.Length} profiled.");
    }

    /// <inheritdoc />
    public void PrepareDecodeStep(int kvLength)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(kvLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(kvLength, _maxKv);
        if (_decodeCache.NextPosition == kvLength + 1 && _decodeCache.Length(0) == kvLength + 1 && _prepared == kvLength)
        {
            _decodeCache.Rollback(1); // the same length again: undo the previous step's token instead of refilling
            return;
        }
        using var scope = NewDisposeScope();
        _decodeCache.Reset();
        var keys = _randomKeys.narrow(1, 0, kvLength);
        var values = _randomValues.narrow(1, 0, kvLength);
        for (int layer = 0; layer < _model.Config.LayerCount; layer++) _decodeCache.Append(layer, keys, values);
        _decodeCache.Advance(kvLength);
        _prepared = kvLength;
    }

    /// <inheritdoc />
    public void DecodeStep(int kvLength, int layers)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(layers, LayerCount);
        if (_decodeCache.Length(0) != kvLength)
            throw new InvalidOperationException($"The decode cache holds {_decodeCache.Length(0)} entries, not {kvLength}: call PrepareDecodeStep({kvLength}) first.");

        int token = _tokens[kvLength % _tokens.Length];
        // Every depth runs exactly as generation runs it, on the decode kernels (a shallow step is what a token that
        // exits early costs there, skipped layers' keys and values included).
        _engine.Decoder.Step(token, _decodeCache, _logits, layers);
    }

    /// <summary>Frees the caches and random tensors (the model stays with its owner).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _prefillCache.Dispose();
        _decodeCache.Dispose();
        _prefixes.Dispose();
        _randomKeys.Dispose();
        _randomValues.Dispose();
    }
}
