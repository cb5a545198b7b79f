using System.Runtime.InteropServices;
using TimeBill.Core.Cache;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Checkpoints.Gguf;
using TimeBill.Core.Decoding;
using TimeBill.Core.Native;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TimeBill.Core.Model;

/// <summary>
/// A Llama/Qwen2/Qwen3/Mistral decoder on TorchSharp, float32, for inference: prefill and incremental decoding against a
/// <see cref="KvCache"/> with explicit positions. Short on purpose: embeddings, then per layer
/// RMSNorm → fused QKV (→ per-head q/k RMSNorm) → RoPE → cache → grouped-query attention (within the layer's sliding
/// window, if any) → output projection, RMSNorm → SwiGLU, then the final norm and the head. Every call runs under
/// no-grad with its temporaries scoped, so nothing leaks.
/// </summary>
public sealed class CausalLanguageModel : IDisposable
{
    private readonly RotaryEmbedding _rope;
    private readonly float _attentionScale;
    private readonly Dictionary<int, (Tensor Weight, Tensor? Bias)> _propagation = [];
    private readonly Lock _propagationGate = new();

    private CausalLanguageModel(ModelConfig config, GenerationConfig generation, ModelWeights weights, string name)
    {
        Config = config;
        GenerationConfig = generation;
        Weights = weights;
        Name = name;
        _rope = new RotaryEmbedding(config);
        _attentionScale = 1f / MathF.Sqrt(config.HeadDim);
        Identity = $"{config.Architecture.ToString().ToLowerInvariant()}-{Fingerprint(config, weights)}";
    }

    /// <summary>The model's shape.</summary>
    public ModelConfig Config { get; }
    /// <summary>Stop tokens and BOS.</summary>
    public GenerationConfig GenerationConfig { get; }
    /// <summary>The weights.</summary>
    internal ModelWeights Weights { get; }
    /// <summary>The folder name, or "random" for random weights.</summary>
    public string Name { get; }
    /// <summary>
    /// Identifies this shape and these weights, for keying trained predictors: the architecture and a hash of the shape
    /// and of every weight tensor's shape and leading values. Renaming or moving the folder does not change it.
    /// </summary>
    public string Identity { get; }
    /// <summary>The identity files trained before <see cref="Identity"/> hashed the weights carry: the folder name and a shape hash.</summary>
    public string LegacyIdentity => $"{Name}-{Config.ShapeHash}";

    /// <summary>Whether <paramref name="identity"/> (read from a trained file) names this model, in its current or legacy form.</summary>
    public bool IsIdentifiedBy(string? identity) => identity == Identity || identity == LegacyIdentity;

    private static string Fingerprint(ModelConfig config, ModelWeights weights)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(config.ShapeHash));
        // In the order identities were always hashed: embeddings, final norm, head, then per layer.
        var parts = new List<object> { weights.Embeddings, weights.FinalNorm, weights.Head };
        foreach (var layer in weights.Layers)
        {
            parts.AddRange([layer.AttentionNorm, layer.Qkv, layer.Output, layer.MlpNorm, layer.GateUp, layer.Down]);
            if (layer.QueryNorm is not null) parts.AddRange([layer.QueryNorm, layer.KeyNorm!]);
        }
        foreach (var part in parts)
        {
            var (shape, leading) = part switch
            {
                WeightMatrix { Float32: { } t } => (string.Join(',', t.shape), LeadingValues(t)),
                WeightMatrix m => ($"{m.Rows},{m.Cols}", LeadingValues(m)),
                Tensor t => (string.Join(',', t.shape), LeadingValues(t)),
                _ => throw new InvalidOperationException(),
            };
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(shape));
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(leading.AsSpan()));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    private static float[] LeadingValues(Tensor tensor)
    {
        using var flat = tensor.flatten();
        using var head = flat.narrow(0, 0, Math.Min(64, flat.shape[0])).contiguous();
        return head.data<float>().ToArray();
    }

    private static float[] LeadingValues(WeightMatrix matrix)
    {
        using var rows = matrix.Dequantize(0, Math.Min(matrix.Rows, (64 + matrix.Cols - 1) / matrix.Cols));
        return LeadingValues(rows);
    }

    /// <summary>Loads a Hugging Face model folder (config.json, optional generation_config.json, safetensors) or a GGUF file.</summary>
    /// <exception cref="ModelLoadException">Anything missing or malformed, with the file and problem named.</exception>
    public static CausalLanguageModel Load(string folder) => Load(folder, ModelLoadOptions.Default);

    /// <summary>
    /// Loads a Hugging Face model folder or a GGUF file with its matrices held as <paramref name="options"/> says
    /// (e.g. a safetensors folder quantized to Q8_0 at load).
    /// </summary>
    /// <exception cref="ModelLoadException">Anything missing or malformed, with the file and problem named.</exception>
    /// <exception cref="ArgumentException">A weight format that is not a <see cref="WeightFormat"/>, or one a GGUF file cannot be loaded as.</exception>
    public static CausalLanguageModel Load(string folder, ModelLoadOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(options);
        var quantizeTo = options.QuantizedType;
        if (folder.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) && !Directory.Exists(folder))
        {
            if (quantizeTo is not null)
                throw new ArgumentException($"a GGUF file keeps the types it was written in (weights '{options.Weights}' apply to safetensors folders): write the type wanted with `timebill convert --type`.", nameof(options));
            return LoadGguf(folder, options.Weights);
        }
        if (!Directory.Exists(folder)) throw new ModelLoadException(folder, "model folder not found.");
        var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        string generationPath = Path.Combine(folder, "generation_config.json");
        var generation = File.Exists(generationPath) ? GenerationConfig.Load(generationPath) : GenerationConfig.FromModelConfig(config);
        if (File.Exists(generationPath)) ModelConfig.CheckTokenIds(generationPath, config.VocabSize, generation.BosTokenId, generation.StopTokenIds);
        var checkpoint = SafeTensorsCheckpoint.Open(folder);
        TorchSharpNativeLoader.EnsureLoaded();
        using var noGrad = no_grad();
        var store = quantizeTo is null ? null : new NativeWeightStore();
        ModelWeights weights;
        try { weights = ModelWeights.Load(checkpoint.Tensors, config, folder, store, options.Weights, store); }
        catch { store?.Dispose(); throw; }
        var model = new CausalLanguageModel(config, generation, weights, new DirectoryInfo(folder).Name);
        try { model.CheckFiniteOutput(folder); }
        catch { model.Dispose(); throw; }
        return model;
    }

    // Matrices in a kernel format stay in the mapped file, which the weights then own; the rest are read as float32.
    private static CausalLanguageModel LoadGguf(string path, WeightFormat format)
    {
        var file = GgufFile.Open(path);
        CausalLanguageModel? model = null;
        try
        {
            var config = GgufModel.ReadConfig(file);
            var generation = GgufModel.ReadGenerationConfig(file, config.VocabSize);
            TorchSharpNativeLoader.EnsureLoaded();
            using var noGrad = no_grad();
            var weights = ModelWeights.Load(GgufModel.Tensors(file, config), config, path, file, format);
            model = new CausalLanguageModel(config, generation, weights, Path.GetFileNameWithoutExtension(path));
            model.CheckFiniteOutput(path);
            return model;
        }
        catch
        {
            if (model is not null) model.Dispose();
            else file.Dispose();
            throw;
        }
    }

    /// <summary>One cheap forward pass of one token: values that load but make the model's output NaN or infinite fail here, loudly.</summary>
    private void CheckFiniteOutput(string folder)
    {
        using var cache = CreateCache(1);
        using var logits = Forward([GenerationConfig.BosTokenId ?? 0], cache, allLogits: false);
        if (!logits.isfinite().all().item<bool>())
            throw new ModelLoadException(folder, "the first forward pass gives non-finite logits: a weight or a config value (rms_norm_eps, rope settings) is corrupt.");
    }

    /// <summary>Builds a model of the given shape with seeded random weights (speed work at realistic sizes).</summary>
    public static CausalLanguageModel CreateRandom(ModelConfig config, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        TorchSharpNativeLoader.EnsureLoaded();
        using var noGrad = no_grad();
        return new CausalLanguageModel(config, GenerationConfig.FromModelConfig(config), ModelWeights.Random(config, seed), "random");
    }

    /// <summary>
    /// <paramref name="cache"/> emptied for a new sequence when it holds at least <paramref name="capacity"/> entries;
    /// otherwise it is disposed and replaced by a new cache of <paramref name="allocate"/> (default: exactly
    /// <paramref name="capacity"/>) entries. Generators keep one cache this way across requests.
    /// </summary>
    internal KvCache RentCache(ref KvCache? cache, int capacity, int? allocate = null)
    {
        if (cache is null || cache.Capacity < capacity)
        {
            cache?.Dispose();
            cache = CreateCache(allocate ?? capacity);
        }
        cache.Reset();
        return cache;
    }

    /// <summary>An empty cache for one sequence of up to <paramref name="capacity"/> tokens (default: the model's context).</summary>
    public KvCache CreateCache(int? capacity = null) =>
        new(Config.LayerCount, Config.KvHeadCount, Config.HeadDim, capacity ?? Config.MaxPositions);

    /// <summary>
    /// Runs <paramref name="tokens"/> through the model at positions <c>cache.NextPosition..</c>, appending their
    /// keys and values to <paramref name="cache"/>. Returns logits <c>[T, vocab]</c> when
    /// <paramref name="allLogits"/>, else <c>[1, vocab]</c> for the last token. The caller owns (disposes) the
    /// result.
    /// </summary>
    /// <exception cref="ArgumentException">No tokens, or a token id outside the vocabulary.</exception>
    /// <exception cref="InvalidOperationException">The cache would overflow or the context would be exceeded.</exception>
    public Tensor Forward(ReadOnlySpan<int> tokens, KvCache cache, bool allLogits = false, IForwardObserver? observer = null)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var hidden = Layers(tokens, cache, observer);
        if (!allLogits) hidden = hidden.narrow(0, hidden.shape[0] - 1, 1);
        return Head(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="Forward"/> without the head: appends the keys and values of <paramref name="tokens"/> to
    /// <paramref name="cache"/> and returns nothing (a prefill chunk before the last, whose logits nobody reads).
    /// </summary>
    /// <exception cref="ArgumentException">No tokens, or a token id outside the vocabulary.</exception>
    /// <exception cref="InvalidOperationException">The cache would overflow or the context would be exceeded.</exception>
    public void Append(ReadOnlySpan<int> tokens, KvCache cache, IForwardObserver? observer = null)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Layers(tokens, cache, observer);
    }

    // The embedding and every layer, the cache advanced; the last hidden states [T, hidden] in the caller's scope.
    private Tensor Layers(ReadOnlySpan<int> tokens, KvCache cache, IForwardObserver? observer)
    {
        var hidden = Embed(tokens, cache);
        for (int layer = 0; layer < Config.LayerCount; layer++)
        {
            // A layer's intermediates (tens of MB for a long chunk) are freed before the next layer runs.
            using var layerScope = NewDisposeScope();
            var next = ForwardLayer(layer, hidden, cache, observer);
            observer?.OnHiddenState(layer, next);
            hidden.Dispose();
            hidden = next.MoveToOuterDisposeScope();
        }
        cache.Advance(tokens.Length);
        return hidden;
    }

    /// <summary>
    /// <see cref="Forward"/> of <paramref name="tokens"/> on libtorch, returning the last position's logits as a managed
    /// array: prefill, and the reference single-token steps are compared against. Decoding runs on the kernels
    /// (<see cref="KernelDecoder"/>, through a <c>GenerationEngine</c>).
    /// </summary>
    public float[] ForwardLast(ReadOnlySpan<int> tokens, KvCache cache, IForwardObserver? observer = null)
    {
        using var logits = Forward(tokens, cache, allLogits: false, observer);
        return logits.data<float>().ToArray();
    }

    /// <summary>
    /// Token embeddings <c>[T, hidden]</c> for tokens placed at <c>cache.NextPosition..</c> (checks ids and room).
    /// Part of the layer-level API used by early exit: <see cref="Embed"/>, <see cref="ForwardLayer"/>,
    /// <see cref="AppendKeyValues"/>, <see cref="Head"/>; the caller then calls <c>cache.Advance(T)</c>.
    /// </summary>
    public Tensor Embed(ReadOnlySpan<int> tokens, KvCache cache)
    {
        if (tokens.IsEmpty) throw new ArgumentException("at least one token is needed.", nameof(tokens));
        foreach (int id in tokens)
            if ((uint)id >= (uint)Config.VocabSize)
                throw new ArgumentException($"token id {id} is outside the vocabulary (0..{Config.VocabSize - 1}).", nameof(tokens));
        if (cache.NextPosition + tokens.Length > Config.MaxPositions)
            throw new InvalidOperationException($"context of {Config.MaxPositions} positions exceeded: {cache.NextPosition} used, {tokens.Length} more asked.");
        return Weights.Embeddings.SelectRows(tokens);
    }

    /// <summary>One decoder layer on <paramref name="hidden"/> <c>[T, hidden]</c>; appends the tokens' K/V to the cache.</summary>
    public Tensor ForwardLayer(int layer, Tensor hidden, KvCache cache, IForwardObserver? observer = null)
    {
        var w = Weights.Layers[layer];
        int t = (int)hidden.shape[0];
        var (q, k, v) = ProjectQkv(w, RmsNorm(hidden, w.AttentionNorm), cache.NextPosition);
        cache.Append(layer, k, v);
        observer?.OnAttention(layer, q, cache);
        Tensor attention;
        int before = cache.Length(layer) - t;
        if (t > 1 && before == cache.NextPosition && !cache.HoldsInPlace(layer) && (before == 0 || EntriesAtOwnPositions(cache, layer, before)))
        {
            // Every entry at its own position (a fresh prefill, or a later chunk of one): causal attention on the kernels,
            // or in blocks on libtorch where an observer wants the prefill's attention weights.
            int wanted = before == 0 ? observer?.PrefillAttentionQueries ?? 0 : 0;
            if (wanted == 0 && Kernels.PrefillAttention.Supports(Config.HeadDim))
                return FinishLayer(w, hidden, KernelAttention(q, cache, layer, before));
            var retained = wanted > 0 ? new PrefillAttention(t, wanted) : null;
            attention = BlockCausalAttention(q, cache.Keys(layer), cache.Values(layer), retained, before, Config.WindowOf(layer));
            if (retained is not null) observer!.OnPrefillAttention(layer, retained);
        }
        else attention = Attend(q, cache, layer, Config.WindowOf(layer));
        return FinishLayer(w, hidden, attention.transpose(0, 1).reshape(t, -1));
    }

    /// <summary>The rest of a layer after attention (<c>[T, heads·headDim]</c>): output projection, MLP, both residuals.</summary>
    private Tensor FinishLayer(DecoderLayerWeights w, Tensor hidden, Tensor attention)
    {
        hidden = hidden + w.Output.Linear(attention);
        var gateUp = w.GateUp.Linear(RmsNorm(hidden, w.MlpNorm)).chunk(2, dim: -1);
        return hidden + w.Down.Linear(F.silu(gateUp[0]) * gateUp[1]);
    }

    /// <summary>
    /// Computes only the keys and values of <paramref name="layer"/> for <paramref name="hidden"/> and appends them:
    /// how a layer that a token skipped still gets cache entries for it (state propagation from the exited hidden state).
    /// </summary>
    public void AppendKeyValues(int layer, Tensor hidden, KvCache cache)
    {
        var w = Weights.Layers[layer];
        var (_, k, v) = ProjectQkv(w, RmsNorm(hidden, w.AttentionNorm), cache.NextPosition);
        cache.Append(layer, k, v);
    }

    /// <summary>
    /// Computes the keys and values of every layer from <paramref name="firstLayer"/> to the last for
    /// <paramref name="hidden"/> <c>[T, hidden]</c> in one fused projection and appends them to each layer: the entries
    /// <see cref="AppendKeyValues"/> would give layer by layer (equal up to float rounding, since the attention norms'
    /// weights are folded into the stacked K/V projection), at a fraction of the operations. How early exit fills the
    /// layers a token skipped.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstLayer"/> negative.</exception>
    public void AppendKeyValuesFrom(int firstLayer, Tensor hidden, KvCache cache)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstLayer);
        int layers = Config.LayerCount;
        if (firstLayer >= layers) return;
        using var scope = NewDisposeScope();
        var (weight, bias) = PropagationWeights(firstLayer);
        int t = (int)hidden.shape[0], n = layers - firstLayer, kvh = Config.KvHeadCount, hd = Config.HeadDim;
        var normed = hidden * (hidden.square().mean([-1L], keepdim: true) + Config.RmsNormEps).rsqrt();
        var kv = F.linear(normed, weight, bias).view(t, n, 2, kvh, hd);
        var (cos, sin) = _rope.Table(cache.NextPosition, t);
        var rawKeys = kv.select(2, 0).permute(1, 2, 0, 3); // [n, kvh, T, hd]
        if (Config.QkNorm)
        {
            var keyNorms = stack(Weights.Layers.Skip(firstLayer).Select(w => w.KeyNorm!).ToArray()).view(n, 1, 1, hd);
            rawKeys = rawKeys * (rawKeys.square().mean([-1L], keepdim: true) + Config.RmsNormEps).rsqrt() * keyNorms;
        }
        var keys = RotaryEmbedding.Apply(rawKeys, cos, sin);
        var values = kv.select(2, 1).permute(1, 2, 0, 3);
        for (int i = 0; i < n; i++) cache.Append(firstLayer + i, keys[i], values[i]);
    }

    private (Tensor Weight, Tensor? Bias) PropagationWeights(int firstLayer)
    {
        lock (_propagationGate)
        {
            if (_propagation.TryGetValue(firstLayer, out var cached)) return cached;
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            int start = Config.HeadCount * Config.HeadDim, rows = 2 * Config.KvHeadCount * Config.HeadDim;
            var layers = Weights.Layers.Skip(firstLayer).ToArray();
            var weight = cat(layers.Select(w => w.Qkv.Dequantize(start, rows) * w.AttentionNorm.unsqueeze(0)).ToArray()).contiguous();
            Tensor? bias = Config.AttentionBias ? cat(layers.Select(w => w.QkvBias!.narrow(0, start, rows)).ToArray()).contiguous() : null;
            var entry = (weight.DetachFromDisposeScope(), bias?.DetachFromDisposeScope());
            _propagation[firstLayer] = entry;
            return entry;
        }
    }

    /// <summary>Final norm and output head: logits <c>[T, vocab]</c>.</summary>
    public Tensor Head(Tensor hidden) => Weights.Head.Linear(RmsNorm(hidden, Weights.FinalNorm));

    private (Tensor Q, Tensor K, Tensor V) ProjectQkv(DecoderLayerWeights w, Tensor normed, int start)
    {
        int t = (int)normed.shape[0], hd = Config.HeadDim, h = Config.HeadCount, kvh = Config.KvHeadCount;
        var qkv = w.Qkv.Linear(normed, w.QkvBias);
        var q = qkv.narrow(1, 0, h * hd).view(t, h, hd);
        var k = qkv.narrow(1, h * hd, kvh * hd).view(t, kvh, hd);
        if (Config.QkNorm) (q, k) = (RmsNorm(q, w.QueryNorm!), RmsNorm(k, w.KeyNorm!));
        (q, k) = (q.transpose(0, 1), k.transpose(0, 1));
        var v = qkv.narrow(1, (h + kvh) * hd, kvh * hd).view(t, kvh, hd).transpose(0, 1);
        var (cos, sin) = _rope.Table(start, t);
        return (RotaryEmbedding.Apply(q, cos, sin), RotaryEmbedding.Apply(k, cos, sin), v);
    }

    /// <summary>Whether the layer's first <paramref name="count"/> entries sit at positions 0..count−1 in every KV head (nothing evicted or moved).</summary>
    private static bool EntriesAtOwnPositions(KvCache cache, int layer, int count)
    {
        using var scope = NewDisposeScope();
        using var expected = arange(count, dtype: ScalarType.Int64);
        return cache.Positions(layer).narrow(1, 0, count).eq(expected.unsqueeze(0)).all().item<bool>();
    }

    /// <summary>
    /// Grouped-query attention of the new queries <c>[heads, T, hd]</c> over the layer's cache, within
    /// <paramref name="window"/> positions when the layer has one; returns <c>[heads, T, hd]</c>.
    /// </summary>
    private Tensor Attend(Tensor q, KvCache cache, int layer, int? window)
    {
        int h = Config.HeadCount, kvh = Config.KvHeadCount, g = Config.GroupSize, t = (int)q.shape[1], hd = Config.HeadDim;
        var keys = cache.Keys(layer);
        var values = cache.Values(layer);

        var grouped = q.reshape(kvh, g * t, hd);
        var scores = grouped.matmul(keys.transpose(1, 2)) * _attentionScale; // [kvh, g·T, L]
        if (t > 1 || window is not null)
        {
            // A key is visible to a query when it was computed at or before the query's position (and within its window).
            using var queryPositions = arange(cache.NextPosition, cache.NextPosition + t, dtype: ScalarType.Int64).view(1, t, 1);
            var keyPositions = cache.Positions(layer).unsqueeze(1);
            var visible = keyPositions <= queryPositions; // [kvh, T, L]
            if (window is int w) visible = visible.logical_and(keyPositions > queryPositions - w);
            var mask = visible.unsqueeze(1).expand(kvh, g, t, visible.shape[2]).reshape(kvh, g * t, -1);
            scores = scores.masked_fill(mask.logical_not(), float.NegativeInfinity);
        }
        return scores.softmax(-1).matmul(values).view(h, t, hd);
    }

    /// <summary>
    /// Causal attention of prefill queries at positions <paramref name="offset"/>.. over a cache whose entries all sit at
    /// their own positions (a fresh prefill, or a later chunk of one), in blocks of <see cref="PrefillQueryBlock"/>
    /// queries: each block multiplies only against the keys up to its own end and masks the diagonal square, so the
    /// masked-out half of the score matrix is never computed and a block's scores stay small enough for the caches.
    /// libtorch's fused causal kernel on this CPU runs 4–5× slower at 2,048 tokens, and its cost bent away from the
    /// quadratic the execution-time estimator fits. Queries sharing a KV head are stacked, so keys are never repeated.
    /// The probabilities of the blocks that hold <paramref name="retained"/>'s queries are kept for the observer. On a
    /// layer with a sliding <paramref name="window"/> a block reads only the keys its queries' windows reach.
    /// </summary>
    private Tensor BlockCausalAttention(Tensor q, Tensor keys, Tensor values, PrefillAttention? retained, int offset, int? window)
    {
        int h = Config.HeadCount, kvh = Config.KvHeadCount, g = Config.GroupSize, t = (int)q.shape[1], hd = Config.HeadDim;
        var grouped = q.reshape(kvh, g, t, hd);
        var blocks = new Tensor[(t + PrefillQueryBlock - 1) / PrefillQueryBlock];
        for (int i = 0; i < blocks.Length; i++)
        {
            int start = i * PrefillQueryBlock, size = Math.Min(PrefillQueryBlock, t - start), end = offset + start + size;
            int first = window is int w ? Math.Max(0, offset + start - w + 1) : 0, span = end - first;
            var scores = grouped.narrow(2, start, size).reshape(kvh, g * size, hd)
                .matmul(keys.narrow(1, first, span).transpose(1, 2)).mul_(_attentionScale); // [kvh, g·size, span]
            using (var mask = window is null ? full(size, size, float.NegativeInfinity).triu(1) : WindowMask(offset + start, size, first, end, window.Value))
                scores.view(kvh, g, size, span).narrow(3, span - mask.shape[1], mask.shape[1]).add_(mask);
            var probabilities = scores.softmax(-1);
            if (retained is not null && end > retained.FirstRetained)
                retained.Add(first == 0 ? probabilities.view(kvh, g, size, end) : F.pad(probabilities.view(kvh, g, size, span), [first, 0]), start);
            blocks[i] = probabilities.matmul(values.narrow(1, first, span)).view(kvh, g, size, hd);
        }
        return cat(blocks, 2).view(h, t, hd);
    }

    /// <summary>Causal attention of a prefill chunk on the kernels: <c>[T, heads·headDim]</c>.</summary>
    private Tensor KernelAttention(Tensor q, KvCache cache, int layer, int offset)
    {
        int t = (int)q.shape[1];
        using var queries = q.contiguous();
        var output = empty(t, Config.HeadCount * Config.HeadDim);
        Kernels.PrefillAttention.Apply(MemoryMarshal.Cast<byte, float>(queries.bytes), cache.KeyStorage(layer), cache.ValueStorage(layer),
            Config.HeadCount, Config.KvHeadCount, Config.HeadDim, cache.Capacity, t, offset, Config.WindowOf(layer) ?? 0,
            MemoryMarshal.Cast<byte, float>(output.bytes), get_num_threads());
        return output;
    }

    /// <summary>
    /// 0 where query <c>queryStart + r</c> sees key <c>firstKey + c</c> (at or before it, within <paramref name="window"/>),
    /// −∞ elsewhere: <c>[size, end − firstKey]</c>.
    /// </summary>
    private static Tensor WindowMask(int queryStart, int size, int firstKey, int end, int window)
    {
        using var scope = NewDisposeScope();
        var queries = arange(queryStart, queryStart + size, dtype: ScalarType.Int64).unsqueeze(1);
        var keys = arange(firstKey, end, dtype: ScalarType.Int64).unsqueeze(0);
        var visible = (keys <= queries).logical_and(keys > queries - window);
        return zeros(size, end - firstKey).masked_fill(visible.logical_not(), float.NegativeInfinity).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Queries per block of a fresh prefill's causal attention (fastest of 64–512 measured at 1,024–2,048 tokens on the
    /// 135M shape). Each block costs a fixed number of operator launches per layer, which the execution-time estimator
    /// prices as a term of its own.
    /// </summary>
    public static int PrefillQueryBlock => 128;

    private Tensor RmsNorm(Tensor x, Tensor weight) =>
        x * (x.square().mean([-1L], keepdim: true) + Config.RmsNormEps).rsqrt() * weight;

    /// <summary>Frees the weights and tables.</summary>
    public void Dispose()
    {
        Weights.Dispose();
        _rope.Dispose();
        foreach (var (weight, bias) in _propagation.Values) { weight.Dispose(); bias?.Dispose(); }
        _propagation.Clear();
    }
}
