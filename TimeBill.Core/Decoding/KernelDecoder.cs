using System.Numerics.Tensors;
using TimeBill.Core.Cache;
using TimeBill.Core.Model;
using TimeBill.Kernels;
using TimeBill.Kernels.Memory;
using TimeBill.Kernels.Tuning;
using static TorchSharp.torch;

namespace TimeBill.Core.Decoding;

/// <summary>
/// One decode step (a single token) of a Llama/Qwen2/Qwen3/Mistral model on the SIMD kernels, llama2.c style: the weights are
/// copied once out of the TorchSharp model, every buffer is preallocated, and the step reads and writes the same
/// <see cref="KvCache"/> memory the TorchSharp path uses, so prefill can stay on libtorch and eviction can compact
/// the cache in between. Per layer: RMSNorm → fused QKV (+bias) (→ per-head q/k RMSNorm) → RoPE at the token's
/// position → append K/V → attention over the cache (from the window's first entry on a sliding-window layer) → output projection + residual → RMSNorm → fused gate/up → SwiGLU → down + residual;
/// then the final norm and the head. One step runs at a time per decoder (steps are serialised).
/// <para>
/// A step may also stop after fewer layers (layer skipping for early exit): the layers it skips still get the token's
/// keys and values, projected from the exited hidden state (RMSNorm → K/V rows of the QKV projection → RoPE), as
/// <see cref="CausalLanguageModel.AppendKeyValuesFrom"/> does on libtorch.
/// </para>
/// </summary>
internal sealed class KernelDecoder : IDisposable
{
    private readonly WeightArena _arena;
    private readonly ModelConfig _config;
    private readonly Layer[] _layers;
    private readonly float[]? _embeddings; // a float32 model's embeddings; stored ones are dequantized a row per step
    private readonly WeightMatrix _embeddingRows;
    private readonly float[] _finalNorm;
    private readonly KernelMatrix _head;
    private readonly float[] _inverseFrequencies;
    private readonly float _eps;
    private readonly KernelVariant _rmsNorm, _rotary, _swiGlu, _attention;
    private readonly float[] _x, _xb, _qkv, _attentionOut, _gateUp, _mlp, _cos, _sin, _keyValue;
    private readonly int[] _windowFirsts; // per KV head, the first entry a sliding-window layer attends to
    private readonly Lock _gate = new();
    private bool _disposed;
    private readonly KernelMatrix[] _keyValueRows; // per layer, the K/V rows of its fused QKV matrix (a view, no copy)

    private sealed record Layer(float[] AttentionNorm, KernelMatrix Qkv, float[]? QkvBias, KernelMatrix Output,
        float[] MlpNorm, KernelMatrix GateUp, KernelMatrix Down, float[]? QueryNorm, float[]? KeyNorm, int? Window);

    /// <summary>
    /// Copies the float32 weights of <paramref name="model"/>: float32, or bfloat16 matrices when
    /// <paramref name="bfloat16Weights"/> (half the bytes per token; embeddings and norms stay float32); matrices kept as
    /// stored (GGUF blocks) are multiplied in place, whatever <paramref name="bfloat16Weights"/> says. Kernel
    /// variants come from <paramref name="tuning"/> (default: <see cref="KernelTuningTable.Load"/>), products use up
    /// to <paramref name="threads"/> threads (default: libtorch's thread count).
    /// </summary>
    public KernelDecoder(CausalLanguageModel model, bool bfloat16Weights = false, KernelTuningTable? tuning = null, int? threads = null)
        : this((model ?? throw new ArgumentNullException(nameof(model))).Config, model.Weights, bfloat16Weights, tuning, threads)
    {
    }

    /// <summary>As <see cref="KernelDecoder(CausalLanguageModel, bool, KernelTuningTable?, int?)"/>, from a shape and its weights.</summary>
    public KernelDecoder(ModelConfig config, ModelWeights weights, bool bfloat16Weights = false, KernelTuningTable? tuning = null, int? threads = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        if (threads is < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Must be at least 1.");
        var c = _config = config;
        var table = tuning ?? KernelTuningTable.Load();
        int n = threads ?? get_num_threads();
        BFloat16Weights = bfloat16Weights;
        var w = weights;
        // Stored matrices need no copy; the arena still takes a minimal block.
        var arena = _arena = new WeightArena(Math.Max(64, w.Matrices.Sum(m => KernelMatrix.BytesFor(m, bfloat16Weights))));
        _layers = w.Layers.Select((l, i) => new Layer(
            KernelMatrix.CopyOf(l.AttentionNorm),
            KernelMatrix.From(l.Qkv, bfloat16Weights, table, n, arena),
            l.QkvBias is null ? null : KernelMatrix.CopyOf(l.QkvBias),
            KernelMatrix.From(l.Output, bfloat16Weights, table, n, arena),
            KernelMatrix.CopyOf(l.MlpNorm),
            KernelMatrix.From(l.GateUp, bfloat16Weights, table, n, arena),
            KernelMatrix.From(l.Down, bfloat16Weights, table, n, arena),
            l.QueryNorm is null ? null : KernelMatrix.CopyOf(l.QueryNorm),
            l.KeyNorm is null ? null : KernelMatrix.CopyOf(l.KeyNorm),
            c.WindowOf(i))).ToArray();
        _embeddingRows = w.Embeddings;
        _embeddings = w.Embeddings.Float32 is { } embeddings ? KernelMatrix.CopyOf(embeddings) : null;
        _finalNorm = KernelMatrix.CopyOf(w.FinalNorm);
        _head = KernelMatrix.From(w.Head, bfloat16Weights, table, n, arena);
        using (var inverse = RotaryEmbedding.InverseFrequencies(c.HeadDim, c.Rope)) _inverseFrequencies = inverse.data<float>().ToArray();
        _eps = (float)c.RmsNormEps;
        _rmsNorm = table.Choose(KernelNames.RmsNorm, ShapeClasses.Any);
        _rotary = table.Choose(KernelNames.Rotary, ShapeClasses.Any);
        _swiGlu = table.Choose(KernelNames.SwiGlu, ShapeClasses.Any);
        var attention = table.Choose(KernelNames.DecodeAttention, ShapeClasses.Any);
        _attention = attention with { Threads = Math.Clamp(c.HeadCount * c.HeadDim >= 512 ? n : attention.Threads, 1, n) };

        _x = new float[c.HiddenSize];
        _xb = new float[c.HiddenSize];
        _qkv = new float[(c.HeadCount + 2 * c.KvHeadCount) * c.HeadDim];
        _attentionOut = new float[c.HeadCount * c.HeadDim];
        _gateUp = new float[2 * c.IntermediateSize];
        _mlp = new float[c.IntermediateSize];
        _cos = new float[c.HeadDim / 2];
        _sin = new float[c.HeadDim / 2];
        _keyValue = new float[2 * c.KvHeadCount * c.HeadDim];
        _windowFirsts = new int[c.KvHeadCount];
        _keyValueRows = _layers.Select(l => l.Qkv.RowRange(c.HeadCount * c.HeadDim, 2 * c.KvHeadCount * c.HeadDim)).ToArray();
    }

    /// <summary>Frees the copied matrices; the decoder must not be used afterwards.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _arena.Dispose();
        }
    }

    /// <summary>Whether the matrices are held as bfloat16 (else float32).</summary>
    public bool BFloat16Weights { get; }

    /// <summary>The shape decoded.</summary>
    public ModelConfig Config => _config;

    /// <summary>
    /// Runs <paramref name="token"/> at <c>cache.NextPosition</c>, appends its keys and values to every layer of
    /// <paramref name="cache"/>, advances it and writes the next-token logits into <paramref name="logits"/> [vocab].
    /// </summary>
    /// <exception cref="ArgumentException">A token outside the vocabulary, a cache of another shape or a wrong logits length.</exception>
    /// <exception cref="InvalidOperationException">The cache is full or the context would be exceeded.</exception>
    public void Step(int token, KvCache cache, Span<float> logits)
    {
        Check(token, cache, logits);
        lock (_gate) Run(token, cache, logits, _layers.Length, exit: null);
    }

    /// <summary>
    /// A step through only the first <paramref name="layers"/> layers, then the final norm and the head; the layers
    /// above get the token's keys and values from the hidden state after layer <paramref name="layers"/> − 1. With
    /// <paramref name="layers"/> equal to the layer count this is <see cref="Step(int, KvCache, Span{float})"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layers"/> outside 1..LayerCount.</exception>
    /// <exception cref="ArgumentException">As <see cref="Step(int, KvCache, Span{float})"/>.</exception>
    /// <exception cref="InvalidOperationException">As <see cref="Step(int, KvCache, Span{float})"/>.</exception>
    public void Step(int token, KvCache cache, Span<float> logits, int layers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(layers, _layers.Length);
        Check(token, cache, logits);
        lock (_gate) Run(token, cache, logits, layers, exit: null);
    }

    /// <summary>
    /// A step with early exit: after every layer below the last, <paramref name="exitCheck"/> sees the hidden state and
    /// decides whether the token exits there (having written <paramref name="logits"/> itself); the skipped layers then
    /// get keys and values from that hidden state. A token that never exits gets the head's logits. Returns the number
    /// of layers that ran in full.
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="Step(int, KvCache, Span{float})"/>.</exception>
    /// <exception cref="InvalidOperationException">As <see cref="Step(int, KvCache, Span{float})"/>.</exception>
    public int Step(int token, KvCache cache, Span<float> logits, KernelExitCheck exitCheck)
    {
        ArgumentNullException.ThrowIfNull(exitCheck);
        Check(token, cache, logits);
        lock (_gate) return Run(token, cache, logits, _layers.Length, exitCheck);
    }

    private void Check(int token, KvCache cache, Span<float> logits)
    {
        ArgumentNullException.ThrowIfNull(cache);
        var c = _config;
        if ((uint)token >= (uint)c.VocabSize)
            throw new ArgumentException($"token id {token} is outside the vocabulary (0..{c.VocabSize - 1}).", nameof(token));
        if (cache.LayerCount != c.LayerCount || cache.KvHeadCount != c.KvHeadCount || cache.HeadDim != c.HeadDim)
            throw new ArgumentException($"the cache is [{cache.LayerCount} layers, {cache.KvHeadCount} KV heads, {cache.HeadDim}] but the model needs [{c.LayerCount}, {c.KvHeadCount}, {c.HeadDim}].", nameof(cache));
        if (logits.Length != c.VocabSize)
            throw new ArgumentException($"logits hold {logits.Length} elements; the vocabulary has {c.VocabSize}.", nameof(logits));
        if (cache.NextPosition + 1 > c.MaxPositions)
            throw new InvalidOperationException($"context of {c.MaxPositions} positions exceeded: {cache.NextPosition} used, 1 more asked.");
        ObjectDisposedException.ThrowIf(_disposed, this);
    }

    /// <summary>
    /// The step: embedding, layers 0..<paramref name="depth"/>−1 (fewer when <paramref name="exit"/> says so), the
    /// skipped layers' keys and values, the cache advance, and the head unless the token exited. Returns the layers run.
    /// </summary>
    private int Run(int token, KvCache cache, Span<float> logits, int depth, KernelExitCheck? exit)
    {
        var c = _config;
        if (_embeddings is not null) _embeddings.AsSpan(token * c.HiddenSize, c.HiddenSize).CopyTo(_x);
        else _embeddingRows.DequantizeRow(token, _x);
        SetAngles(cache.NextPosition);
        int run = 0;
        bool exited = false;
        while (run < depth && !exited)
        {
            RunLayer(run, cache);
            exited = ++run < _layers.Length && exit is not null && exit(run - 1, _x, logits);
        }
        for (int skipped = run; skipped < _layers.Length; skipped++) AppendSkippedLayer(skipped, cache);
        cache.Advance(1);
        if (!exited)
        {
            RmsNorm.Apply(_x, _finalNorm, _eps, _xb, _rmsNorm);
            _head.Apply(_xb, logits);
        }
        return run;
    }

    /// <summary>One decoder layer on the residual stream <c>_x</c>, appending the token's keys and values to the layer's cache.</summary>
    private void RunLayer(int index, KvCache cache)
    {
        var c = _config;
        int hd = c.HeadDim, q = c.HeadCount * hd, kv = c.KvHeadCount * hd, inter = c.IntermediateSize;
        var x = _x.AsSpan();
        var xb = _xb.AsSpan();
        var layer = _layers[index];
        RmsNorm.Apply(x, layer.AttentionNorm, _eps, xb, _rmsNorm);
        layer.Qkv.Apply(xb, _qkv);
        if (layer.QkvBias is not null) TensorPrimitives.Add(_qkv, layer.QkvBias, _qkv);
        var query = _qkv.AsSpan(0, q);
        var keys = _qkv.AsSpan(q, kv);
        if (layer.QueryNorm is not null)
        {
            HeadNorm(query, layer.QueryNorm);
            HeadNorm(keys, layer.KeyNorm!);
        }
        Rotary.Apply(query, c.HeadCount, hd, _cos, _sin, 0, query, _rotary);
        Rotary.Apply(keys, c.KvHeadCount, hd, _cos, _sin, 0, keys, _rotary);
        cache.AppendToken(index, keys, _qkv.AsSpan(q + kv, kv));
        ReadOnlySpan<int> firsts = default;
        if (layer.Window is int window)
        {
            long oldest = (long)cache.NextPosition - window + 1;
            for (int head = 0; head < c.KvHeadCount; head++) _windowFirsts[head] = cache.FirstEntryAtOrAfter(index, head, oldest);
            firsts = _windowFirsts;
        }
        DecodeAttention.Apply(query, cache.KeyStorage(index), cache.ValueStorage(index), c.HeadCount, c.KvHeadCount, hd,
            cache.Capacity, cache.Length(index), _attentionOut, _attention, cache.Slots(index), firsts);
        layer.Output.Apply(_attentionOut, xb);
        TensorPrimitives.Add(x, xb, x);

        RmsNorm.Apply(x, layer.MlpNorm, _eps, xb, _rmsNorm);
        layer.GateUp.Apply(xb, _gateUp);
        SwiGlu.Apply(_gateUp.AsSpan(0, inter), _gateUp.AsSpan(inter, inter), _mlp, _swiGlu);
        layer.Down.Apply(_mlp, xb);
        TensorPrimitives.Add(x, xb, x);
    }

    /// <summary>
    /// The keys and values a skipped layer keeps for the token: the layer's attention norm and the K/V rows of its QKV
    /// projection (+bias) applied to the exited hidden state <c>_x</c>, keys rotated at the token's position.
    /// </summary>
    private void AppendSkippedLayer(int index, KvCache cache)
    {
        var c = _config;
        int hd = c.HeadDim, q = c.HeadCount * hd, kv = c.KvHeadCount * hd;
        var layer = _layers[index];
        RmsNorm.Apply(_x, layer.AttentionNorm, _eps, _xb, _rmsNorm);
        _keyValueRows[index].Apply(_xb, _keyValue);
        if (layer.QkvBias is not null) TensorPrimitives.Add(_keyValue, layer.QkvBias.AsSpan(q, 2 * kv), _keyValue);
        var keys = _keyValue.AsSpan(0, kv);
        if (layer.KeyNorm is not null) HeadNorm(keys, layer.KeyNorm);
        Rotary.Apply(keys, c.KvHeadCount, hd, _cos, _sin, 0, keys, _rotary);
        cache.AppendToken(index, keys, _keyValue.AsSpan(kv, kv));
    }

    /// <summary>RMSNorm of every head of <paramref name="heads"/> <c>[n, headDim]</c> in place, with one <c>[headDim]</c> weight.</summary>
    private void HeadNorm(Span<float> heads, float[] weight)
    {
        int hd = _config.HeadDim;
        for (int start = 0; start < heads.Length; start += hd)
        {
            var head = heads.Slice(start, hd);
            RmsNorm.Apply(head, weight, _eps, head, _rmsNorm);
        }
    }

    /// <summary>cos/sin of the rotary angles at <paramref name="position"/>, computed as the TorchSharp table is (float32 products).</summary>
    private void SetAngles(int position)
    {
        for (int i = 0; i < _inverseFrequencies.Length; i++)
        {
            float angle = position * _inverseFrequencies[i];
            _cos[i] = MathF.Cos(angle);
            _sin[i] = MathF.Sin(angle);
        }
    }
}
