using TimeBill.Core.Checkpoints;
using TimeBill.Kernels.Quantized;
using static TorchSharp.torch;

namespace TimeBill.Core.Model;

/// <summary>
/// All weights of a decoder in the layout the forward pass uses: norms and biases float32, matrices float32 or kept as
/// stored (GGUF blocks, in the mapped file <see cref="ModelWeights"/> then owns).
/// </summary>
internal sealed class ModelWeights : IDisposable
{
    private readonly IDisposable? _storage;

    internal ModelWeights(WeightMatrix embeddings, DecoderLayerWeights[] layers, Tensor finalNorm, WeightMatrix head, IDisposable? storage = null)
    {
        Embeddings = embeddings;
        Layers = layers;
        FinalNorm = finalNorm;
        Head = head;
        _storage = storage;
    }

    /// <summary>Token embeddings [vocab, hidden].</summary>
    public WeightMatrix Embeddings { get; }
    /// <summary>Decoder layers, bottom first.</summary>
    public IReadOnlyList<DecoderLayerWeights> Layers { get; }
    /// <summary>Final RMSNorm weight [hidden].</summary>
    public Tensor FinalNorm { get; }
    /// <summary>Output head [vocab, hidden]; the embeddings themselves when tied.</summary>
    public WeightMatrix Head { get; }

    /// <summary>Every matrix: per layer QKV, output, gate/up, down; then the head.</summary>
    public IEnumerable<WeightMatrix> Matrices => Layers.SelectMany(l => new[] { l.Qkv, l.Output, l.GateUp, l.Down }).Append(Head);

    /// <summary>Bytes of every weight held (a tied head counted once).</summary>
    public long Bytes => Matrices.Sum(m => m.Bytes) + (ReferenceEquals(Head, Embeddings) ? 0 : Embeddings.Bytes)
        + 4 * (FinalNorm.numel() + Layers.Sum(l => new[] { l.AttentionNorm, l.MlpNorm, l.QkvBias, l.QueryNorm, l.KeyNorm }.Sum(t => t?.numel() ?? 0)));

    /// <summary>
    /// Reads every tensor the config calls for from a checkpoint, checking names and shapes. Tensors the
    /// checkpoint has but the model does not use are an error (a sign of the wrong config), except rotary
    /// buffers and an lm_head duplicated next to tied embeddings. Matrices whose parts all have stored bytes a decode
    /// kernel multiplies in place are kept so (unless <paramref name="format"/> asks for float32); the rest are read as
    /// float32, or, when <paramref name="format"/> names a type, quantized one tensor at a time into <paramref name="quantized"/>.
    /// </summary>
    /// <exception cref="ModelLoadException">A missing or extra tensor, or a shape that does not fit the config.</exception>
    internal static ModelWeights Load(IReadOnlyDictionary<string, CheckpointTensor> tensors, ModelConfig config, string folder, IDisposable? storage = null,
        WeightFormat format = WeightFormat.AsStored, NativeWeightStore? quantized = null)
    {
        var quantizeTo = new ModelLoadOptions { Weights = format }.QuantizedType;
        if (quantizeTo is not null && quantized is null) throw new ArgumentNullException(nameof(quantized), "quantizing at load needs a store.");
        var used = new HashSet<string>();
        CheckpointTensor Entry(string name, long[] shape)
        {
            if (!tensors.TryGetValue(name, out var entry))
                throw new ModelLoadException(folder, $"missing tensor '{name}' (expected shape [{string.Join(", ", shape)}]).");
            if (!entry.Shape.SequenceEqual(shape))
                throw new ModelLoadException(entry.File,
                    $"tensor '{name}' has shape [{string.Join(", ", entry.Shape)}] but the config needs [{string.Join(", ", shape)}].");
            used.Add(name);
            return entry;
        }
        Tensor Read(string name, params long[] shape) => tensor(Entry(name, shape).ReadFloat32(), shape);
        // Parts stacked by rows (q/k/v, gate/up): in place when every part is stored in a kernel format, else float32.
        WeightMatrix Matrix(long cols, params (string Name, long Rows)[] parts)
        {
            var entries = parts.Select(p => Entry(p.Name, [p.Rows, cols])).ToArray();
            if (format != WeightFormat.Float32 && entries.All(e => e.Stored is { } s && WeightSegment.HasKernel(s.Type)))
                return new WeightMatrix(entries.Select(e => e.Stored!.Value).ToArray());
            if (quantizeTo is GgmlType type)
                return new WeightMatrix(entries.Select((e, i) => Quantize(e, (int)parts[i].Rows, (int)cols, type, quantized!)).ToArray());
            using var scope = NewDisposeScope();
            var stacked = cat(entries.Select((e, i) => tensor(e.ReadFloat32(), [parts[i].Rows, cols])).ToArray());
            return new WeightMatrix(stacked.DetachFromDisposeScope());
        }

        int d = config.HiddenSize, hd = config.HeadDim, q = config.HeadCount * hd, kv = config.KvHeadCount * hd, inter = config.IntermediateSize;
        var embeddings = Matrix(d, ("model.embed_tokens.weight", config.VocabSize));
        var layers = new DecoderLayerWeights[config.LayerCount];
        for (int i = 0; i < layers.Length; i++)
        {
            using var scope = NewDisposeScope();
            string p = $"model.layers.{i}.";
            var qkv = Matrix(d, (p + "self_attn.q_proj.weight", q), (p + "self_attn.k_proj.weight", kv), (p + "self_attn.v_proj.weight", kv));
            Tensor? bias = config.AttentionBias
                ? cat([Read(p + "self_attn.q_proj.bias", q), Read(p + "self_attn.k_proj.bias", kv), Read(p + "self_attn.v_proj.bias", kv)])
                : null;
            var gateUp = Matrix(d, (p + "mlp.gate_proj.weight", inter), (p + "mlp.up_proj.weight", inter));
            layers[i] = new DecoderLayerWeights(
                Read(p + "input_layernorm.weight", d).MoveToOuterDisposeScope(),
                qkv,
                bias?.MoveToOuterDisposeScope(),
                Matrix(q, (p + "self_attn.o_proj.weight", d)),
                Read(p + "post_attention_layernorm.weight", d).MoveToOuterDisposeScope(),
                gateUp,
                Matrix(inter, (p + "mlp.down_proj.weight", d)),
                config.QkNorm ? Read(p + "self_attn.q_norm.weight", hd).MoveToOuterDisposeScope() : null,
                config.QkNorm ? Read(p + "self_attn.k_norm.weight", hd).MoveToOuterDisposeScope() : null);
        }
        var finalNorm = Read("model.norm.weight", d).DetachFromDisposeScope();
        var head = config.TieWordEmbeddings ? embeddings : Matrix(d, ("lm_head.weight", config.VocabSize));

        var extra = tensors.Keys
            .Where(n => !used.Contains(n) && !n.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)
                        && !(config.TieWordEmbeddings && n == "lm_head.weight"))
            .Order().ToList();
        if (extra.Count > 0)
            throw new ModelLoadException(folder, $"unexpected tensor(s) the config does not use: {string.Join(", ", extra.Take(5))}{(extra.Count > 5 ? ", …" : "")}.");
        return new ModelWeights(embeddings, layers, finalNorm, head, storage);
    }

    // Rows read and quantized at a time when the file can be read in parts (else the tensor is read whole as float32).
    private const long QuantizeChunkBytes = 1L << 20;

    /// <summary>One tensor quantized row by row into a new buffer of <paramref name="store"/>, read a chunk of rows at a time where it can be.</summary>
    private static unsafe WeightSegment Quantize(CheckpointTensor entry, int rows, int cols, GgmlType asked, NativeWeightStore store)
    {
        var type = Checkpoints.Gguf.GgufExport.Fit(asked, cols);
        var info = GgmlTypeInfo.Of(type);
        int rowBytes = info.RowBytes(cols);
        byte* data = store.Allocate(info.MatrixBytes(rows, cols));
        void QuantizeRows(int first, ReadOnlySpan<float> values)
        {
            for (int r = 0; r < values.Length / cols; r++)
                GgmlQuantization.Quantize(type, values.Slice(r * cols, cols), new Span<byte>(data + (long)(first + r) * rowBytes, rowBytes));
        }
        if (entry.ReadFloat32Range is not { } read)
        {
            QuantizeRows(0, entry.ReadFloat32());
            return new WeightSegment((nint)data, rows, cols, type);
        }
        int chunk = (int)Math.Clamp(QuantizeChunkBytes / (4L * cols), 1, rows);
        float[] buffer = System.Buffers.ArrayPool<float>.Shared.Rent(chunk * cols);
        try
        {
            for (int first = 0; first < rows; first += chunk)
            {
                var values = buffer.AsSpan(0, Math.Min(chunk, rows - first) * cols);
                read((long)first * cols, values);
                QuantizeRows(first, values);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(buffer);
        }
        return new WeightSegment((nint)data, rows, cols, type);
    }

    /// <summary>Random weights with the usual initialisation (normal, σ = 0.02; norms at 1), for speed work at real sizes.</summary>
    public static ModelWeights Random(ModelConfig config, long seed)
    {
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        Tensor Normal(params long[] shape) => normal(0, 0.02, shape, generator: generator).DetachFromDisposeScope();
        WeightMatrix NormalMatrix(params long[] shape) => new(Normal(shape));
        Tensor Ones(long n) => ones(n).DetachFromDisposeScope();

        int d = config.HiddenSize, hd = config.HeadDim;
        long qkvRows = (config.HeadCount + 2L * config.KvHeadCount) * hd;
        var embeddings = NormalMatrix(config.VocabSize, d);
        var layers = Enumerable.Range(0, config.LayerCount).Select(_ => new DecoderLayerWeights(
            Ones(d),
            NormalMatrix(qkvRows, d),
            config.AttentionBias ? Normal(qkvRows) : null,
            NormalMatrix(d, config.HeadCount * hd),
            Ones(d),
            NormalMatrix(2L * config.IntermediateSize, d),
            NormalMatrix(d, config.IntermediateSize),
            config.QkNorm ? Ones(hd) : null,
            config.QkNorm ? Ones(hd) : null)).ToArray();
        var head = config.TieWordEmbeddings ? embeddings : NormalMatrix(config.VocabSize, d);
        return new ModelWeights(embeddings, layers, Ones(d), head);
    }

    /// <summary>Frees the tensors and the stored bytes.</summary>
    public void Dispose()
    {
        foreach (var layer in Layers) layer.Dispose();
        if (!ReferenceEquals(Head, Embeddings)) Head.Dispose();
        Embeddings.Dispose();
        FinalNorm.Dispose();
        _storage?.Dispose();
    }
}
