using TimeBill.Core.Checkpoints;
using static TorchSharp.torch;

namespace TimeBill.Core.Model;

/// <summary>All weights of a decoder, float32, in the layout the forward pass uses.</summary>
public sealed class ModelWeights : IDisposable
{
    internal ModelWeights(Tensor embeddings, DecoderLayerWeights[] layers, Tensor finalNorm, Tensor head)
    {
        Embeddings = embeddings;
        Layers = layers;
        FinalNorm = finalNorm;
        Head = head;
    }

    /// <summary>Token embeddings [vocab, hidden].</summary>
    public Tensor Embeddings { get; }
    /// <summary>Decoder layers, bottom first.</summary>
    public IReadOnlyList<DecoderLayerWeights> Layers { get; }
    /// <summary>Final RMSNorm weight [hidden].</summary>
    public Tensor FinalNorm { get; }
    /// <summary>Output head [vocab, hidden]; the embeddings themselves when tied.</summary>
    public Tensor Head { get; }

    /// <summary>
    /// Reads every tensor the config calls for from a checkpoint, checking names and shapes. Tensors the
    /// checkpoint has but the model does not use are an error (a sign of the wrong config), except rotary
    /// buffers and an lm_head duplicated next to tied embeddings.
    /// </summary>
    /// <exception cref="ModelLoadException">A missing or extra tensor, or a shape that does not fit the config.</exception>
    internal static ModelWeights Load(IReadOnlyDictionary<string, CheckpointTensor> tensors, ModelConfig config, string folder)
    {
        var used = new HashSet<string>();
        Tensor Read(string name, params long[] shape)
        {
            if (!tensors.TryGetValue(name, out var entry))
                throw new ModelLoadException(folder, $"missing tensor '{name}' (expected shape [{string.Join(", ", shape)}]).");
            if (!entry.Shape.SequenceEqual(shape))
                throw new ModelLoadException(entry.File,
                    $"tensor '{name}' has shape [{string.Join(", ", entry.Shape)}] but the config needs [{string.Join(", ", shape)}].");
            used.Add(name);
            return tensor(entry.ReadFloat32(), shape);
        }

        int d = config.HiddenSize, hd = config.HeadDim, q = config.HeadCount * hd, kv = config.KvHeadCount * hd;
        var embeddings = Read("model.embed_tokens.weight", config.VocabSize, d).DetachFromDisposeScope();
        var layers = new DecoderLayerWeights[config.LayerCount];
        for (int i = 0; i < layers.Length; i++)
        {
            using var scope = NewDisposeScope();
            string p = $"model.layers.{i}.";
            var qkv = cat([Read(p + "self_attn.q_proj.weight", q, d), Read(p + "self_attn.k_proj.weight", kv, d), Read(p + "self_attn.v_proj.weight", kv, d)]);
            Tensor? bias = config.AttentionBias
                ? cat([Read(p + "self_attn.q_proj.bias", q), Read(p + "self_attn.k_proj.bias", kv), Read(p + "self_attn.v_proj.bias", kv)])
                : null;
            var gateUp = cat([Read(p + "mlp.gate_proj.weight", config.IntermediateSize, d), Read(p + "mlp.up_proj.weight", config.IntermediateSize, d)]);
            layers[i] = new DecoderLayerWeights(
                Read(p + "input_layernorm.weight", d).MoveToOuterDisposeScope(),
                qkv.MoveToOuterDisposeScope(),
                bias?.MoveToOuterDisposeScope(),
                Read(p + "self_attn.o_proj.weight", d, q).MoveToOuterDisposeScope(),
                Read(p + "post_attention_layernorm.weight", d).MoveToOuterDisposeScope(),
                gateUp.MoveToOuterDisposeScope(),
                Read(p + "mlp.down_proj.weight", d, config.IntermediateSize).MoveToOuterDisposeScope(),
                config.QkNorm ? Read(p + "self_attn.q_norm.weight", hd).MoveToOuterDisposeScope() : null,
                config.QkNorm ? Read(p + "self_attn.k_norm.weight", hd).MoveToOuterDisposeScope() : null);
        }
        var finalNorm = Read("model.norm.weight", d).DetachFromDisposeScope();
        var head = config.TieWordEmbeddings ? embeddings : Read("lm_head.weight", config.VocabSize, d).DetachFromDisposeScope();

        var extra = tensors.Keys
            .Where(n => !used.Contains(n) && !n.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)
                        && !(config.TieWordEmbeddings && n == "lm_head.weight"))
            .Order().ToList();
        if (extra.Count > 0)
            throw new ModelLoadException(folder, $"unexpected tensor(s) the config does not use: {string.Join(", ", extra.Take(5))}{(extra.Count > 5 ? ", …" : "")}.");
        return new ModelWeights(embeddings, layers, finalNorm, head);
    }

    /// <summary>Random weights with the usual initialisation (normal, σ = 0.02; norms at 1), for speed work at real sizes.</summary>
    public static ModelWeights Random(ModelConfig config, long seed)
    {
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        Tensor Normal(params long[] shape) => normal(0, 0.02, shape, generator: generator).DetachFromDisposeScope();
        Tensor Ones(long n) => ones(n).DetachFromDisposeScope();

        int d = config.HiddenSize, hd = config.HeadDim;
        long qkvRows = (config.HeadCount + 2L * config.KvHeadCount) * hd;
        var embeddings = Normal(config.VocabSize, d);
        var layers = Enumerable.Range(0, config.LayerCount).Select(_ => new DecoderLayerWeights(
            Ones(d),
            Normal(qkvRows, d),
            config.AttentionBias ? Normal(qkvRows) : null,
            Normal(d, config.HeadCount * hd),
            Ones(d),
            Normal(2L * config.IntermediateSize, d),
            Normal(d, config.IntermediateSize),
            config.QkNorm ? Ones(hd) : null,
            config.QkNorm ? Ones(hd) : null)).ToArray();
        var head = config.TieWordEmbeddings ? embeddings : Normal(config.VocabSize, d);
        return new ModelWeights(embeddings, layers, Ones(d), head);
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var layer in Layers) layer.Dispose();
        if (!ReferenceEquals(Head, Embeddings)) Head.Dispose();
        Embeddings.Dispose();
        FinalNorm.Dispose();
    }
}
