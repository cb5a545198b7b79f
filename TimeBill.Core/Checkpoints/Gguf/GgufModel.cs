using TimeBill.Kernels.Quantized;
using System.Runtime.InteropServices;
using TimeBill.Core.Model;

namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>
/// A decoder as a GGUF file describes it: the shape from <c>general.architecture</c> and its <c>{arch}.*</c> keys, the
/// stop and BOS ids from <c>tokenizer.ggml.*</c>, and the weights under their Hugging Face names (llama.cpp's
/// q/k row permutation of <c>llama</c> files undone).
/// </summary>
internal static unsafe class GgufModel
{
    /// <summary>The GGUF architecture names read, by architecture.</summary>
    public static string ArchitectureName(ModelArchitecture architecture) => architecture switch
    {
        ModelArchitecture.Llama or ModelArchitecture.Mistral => "llama",
        ModelArchitecture.Qwen2 => "qwen2",
        ModelArchitecture.Qwen3 => "qwen3",
        _ => throw new ArgumentOutOfRangeException(nameof(architecture), architecture, "No GGUF architecture for it."),
    };

    /// <summary>The shape the file's metadata describes.</summary>
    /// <exception cref="ModelLoadException">A missing, ill-typed or out-of-range key, or an unsupported architecture.</exception>
    public static ModelConfig ReadConfig(GgufFile file)
    {
        string arch = file.String("general.architecture") ?? throw new ModelLoadException(file.Path, "metadata 'general.architecture' is missing.");
        var architecture = arch switch
        {
            "llama" => ModelArchitecture.Llama,
            "qwen2" => ModelArchitecture.Qwen2,
            "qwen3" => ModelArchitecture.Qwen3,
            _ => throw new ModelLoadException(file.Path, $"general.architecture '{arch}' is not supported; supported: llama, qwen2, qwen3."),
        };
        int Required(string key) => file.Int32($"{arch}.{key}", 1, int.MaxValue) ?? throw new ModelLoadException(file.Path, $"metadata '{arch}.{key}' is missing.");
        int hidden = Required("embedding_length");
        int heads = Required("attention.head_count");
        int headDim = file.Int32($"{arch}.attention.key_length", 1, int.MaxValue) ?? (hidden % heads == 0 ? hidden / heads
            : throw new ModelLoadException(file.Path, $"{arch}.embedding_length ({hidden}) is not a multiple of {arch}.attention.head_count ({heads}) and no {arch}.attention.key_length is given."));
        if (file.Int32($"{arch}.attention.value_length", 1, int.MaxValue) is int valueLength && valueLength != headDim)
            throw new ModelLoadException(file.Path, $"{arch}.attention.value_length ({valueLength}) differs from the key length ({headDim}); not supported.");
        if (file.Int32($"{arch}.rope.dimension_count", 1, int.MaxValue) is int rotated && rotated != headDim)
            throw new ModelLoadException(file.Path, $"{arch}.rope.dimension_count ({rotated}) is not the head dimension ({headDim}): partial rotary embedding is not supported.");
        if (file.String($"{arch}.rope.scaling.type") is { } scaling && scaling != "none")
            throw new ModelLoadException(file.Path, $"{arch}.rope.scaling.type '{scaling}' is not supported (llama3 scaling comes as rope_freqs.weight).");
        var embeddings = file.Tensor("token_embd.weight");
        int vocab = file.Int32($"{arch}.vocab_size", 1, int.MaxValue)
            ?? (embeddings.Dimensions.Length == 2 && embeddings.Dimensions[1] <= int.MaxValue ? (int)embeddings.Dimensions[1]
                : throw new ModelLoadException(file.Path, "token_embd.weight is not a matrix, so the vocabulary size is unknown."));
        var rope = new RopeScaling(Decimal(file.Real($"{arch}.rope.freq_base") ?? 10000.0));
        if (file.Tensors.TryGetValue("rope_freqs.weight", out var factors))
        {
            if (factors.Dimensions is not [var count] || count != headDim / 2 || factors.Type != GgmlType.F32)
                throw new ModelLoadException(file.Path, $"rope_freqs.weight must be F32 [{headDim / 2}]; it is {factors.Type} [{string.Join(", ", factors.Dimensions)}].");
            rope = rope with { FrequencyFactors = new RopeFrequencyFactors(MemoryMarshal.Cast<byte, float>(file.Data(factors)).ToArray()) };
        }
        var generation = ReadGenerationConfig(file, vocab);
        var config = new ModelConfig
        {
            Architecture = architecture,
            HiddenSize = hidden,
            IntermediateSize = Required("feed_forward_length"),
            LayerCount = Required("block_count"),
            HeadCount = heads,
            KvHeadCount = file.Int32($"{arch}.attention.head_count_kv", 1, int.MaxValue) ?? heads,
            HeadDim = headDim,
            VocabSize = vocab,
            MaxPositions = file.Int32($"{arch}.context_length", 1, int.MaxValue) ?? 2048,
            RmsNormEps = Decimal(file.Real($"{arch}.attention.layer_norm_rms_epsilon") ?? 1e-5),
            Rope = rope,
            TieWordEmbeddings = !file.Tensors.ContainsKey("output.weight"),
            AttentionBias = architecture == ModelArchitecture.Qwen2 || file.Tensors.ContainsKey("blk.0.attn_q.bias"),
            QkNorm = architecture == ModelArchitecture.Qwen3,
            BosTokenId = generation.BosTokenId,
            EosTokenIds = generation.StopTokenIds,
        };
        config.Validate(file.Path);
        return config;
    }

    /// <summary>
    /// A float32 value as the shortest decimal that rounds to it (1e-6, not 9.99999997e-7): GGUF stores these as
    /// float32, and the config.json they came from gave the decimal.
    /// </summary>
    private static double Decimal(double value) =>
        double.IsFinite(value) && (float)value == value ? double.Parse(((float)value).ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture) : value;

    /// <summary>
    /// BOS (when <c>tokenizer.ggml.add_bos_token</c>, by default for SentencePiece vocabularies) and every id llama.cpp
    /// ends generation on: eos, eot and eom.
    /// </summary>
    public static GenerationConfig ReadGenerationConfig(GgufFile file, int vocabSize)
    {
        int? Id(string key) => file.Int32(key, 0, vocabSize - 1);
        bool addBos = file.Bool("tokenizer.ggml.add_bos_token") ?? file.String("tokenizer.ggml.model") == "llama";
        int? bos = addBos ? Id("tokenizer.ggml.bos_token_id") : null;
        var stops = new[] { "eos", "eot", "eom" }.Select(k => Id($"tokenizer.ggml.{k}_token_id")).OfType<int>().Distinct().ToArray();
        return new GenerationConfig(bos, stops);
    }

    /// <summary>The weights by Hugging Face name; tensors without a counterpart keep their GGUF name (and are reported as unexpected).</summary>
    public static IReadOnlyDictionary<string, CheckpointTensor> Tensors(GgufFile file, ModelConfig config)
    {
        var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        bool permuted = config.Architecture is ModelArchitecture.Llama or ModelArchitecture.Mistral;
        foreach (var info in file.Tensors.Values)
        {
            if (info.Name == "rope_freqs.weight") continue;
            string name = HuggingFaceName(info.Name);
            int? heads = !permuted ? null
                : info.Name.EndsWith(".attn_q.weight", StringComparison.Ordinal) || info.Name.EndsWith(".attn_q.bias", StringComparison.Ordinal) ? config.HeadCount
                : info.Name.EndsWith(".attn_k.weight", StringComparison.Ordinal) || info.Name.EndsWith(".attn_k.bias", StringComparison.Ordinal) ? config.KvHeadCount
                : null;
            tensors[name] = new CheckpointTensor(name, info.Shape, file.Path, () =>
            {
                var values = GgufDequantize.ToFloat32(file, info);
                return heads is int h ? UndoRotaryPermutation(values, h, info.Shape) : values;
            })
            {
                Stored = info.Dimensions is [var cols, var rows] && rows <= int.MaxValue && info.Length <= int.MaxValue
                    ? new WeightSegment((nint)file.Pointer(info), (int)rows, (int)cols, info.Type, heads ?? 0)
                    : null,
            };
        }
        return tensors;
    }

    /// <summary>ggml's tensor name → Hugging Face's.</summary>
    public static string HuggingFaceName(string ggufName)
    {
        switch (ggufName)
        {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output.weight": return "lm_head.weight";
        }
        if (!ggufName.StartsWith("blk.", StringComparison.Ordinal)) return ggufName;
        int dot = ggufName.IndexOf('.', 4);
        if (dot < 0 || !int.TryParse(ggufName.AsSpan(4, dot - 4), out int layer)) return ggufName;
        string rest = ggufName[(dot + 1)..];
        string? mapped = LayerNames.FirstOrDefault(p => p.Gguf == rest).HuggingFace;
        return mapped is null ? ggufName : $"model.layers.{layer}.{mapped}";
    }

    /// <summary>Hugging Face's tensor name → ggml's, or null for a name GGUF has no counterpart of.</summary>
    public static string? GgufName(string huggingFaceName)
    {
        switch (huggingFaceName)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }
        const string prefix = "model.layers.";
        if (!huggingFaceName.StartsWith(prefix, StringComparison.Ordinal)) return null;
        int dot = huggingFaceName.IndexOf('.', prefix.Length);
        if (dot < 0 || !int.TryParse(huggingFaceName.AsSpan(prefix.Length, dot - prefix.Length), out int layer)) return null;
        string rest = huggingFaceName[(dot + 1)..];
        string? mapped = LayerNames.FirstOrDefault(p => p.HuggingFace == rest).Gguf;
        return mapped is null ? null : $"blk.{layer}.{mapped}";
    }

    private static readonly (string Gguf, string HuggingFace)[] LayerNames =
    [
        ("attn_norm.weight", "input_layernorm.weight"),
        ("attn_q.weight", "self_attn.q_proj.weight"),
        ("attn_k.weight", "self_attn.k_proj.weight"),
        ("attn_v.weight", "self_attn.v_proj.weight"),
        ("attn_q.bias", "self_attn.q_proj.bias"),
        ("attn_k.bias", "self_attn.k_proj.bias"),
        ("attn_v.bias", "self_attn.v_proj.bias"),
        ("attn_output.weight", "self_attn.o_proj.weight"),
        ("attn_q_norm.weight", "self_attn.q_norm.weight"),
        ("attn_k_norm.weight", "self_attn.k_norm.weight"),
        ("ffn_norm.weight", "post_attention_layernorm.weight"),
        ("ffn_gate.weight", "mlp.gate_proj.weight"),
        ("ffn_up.weight", "mlp.up_proj.weight"),
        ("ffn_down.weight", "mlp.down_proj.weight"),
    ];

    /// <summary>
    /// llama.cpp's converter reorders each head's q/k rows from the rotate-half layout (pairs i, i + d/2) to interleaved
    /// pairs (2i, 2i + 1): row <c>h·d + 2i + j</c> of the file is row <c>h·d + j·d/2 + i</c> of the checkpoint.
    /// </summary>
    public static float[] UndoRotaryPermutation(float[] values, int heads, long[] shape) => Permute(values, heads, shape, undo: true);

    /// <summary>The converter's reordering (see <see cref="UndoRotaryPermutation"/>), for writing llama files.</summary>
    public static float[] ApplyRotaryPermutation(float[] values, int heads, long[] shape) => Permute(values, heads, shape, undo: false);

    private static float[] Permute(float[] values, int heads, long[] shape, bool undo)
    {
        int rows = (int)shape[0], cols = shape.Length > 1 ? (int)shape[1] : 1;
        if (rows % heads != 0 || rows / heads % 2 != 0)
            throw new ArgumentException($"{rows} rows do not split into {heads} heads of an even width.", nameof(shape));
        int d = rows / heads, half = d / 2;
        var result = new float[values.Length];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++)
                for (int j = 0; j < 2; j++)
                {
                    int interleaved = h * d + 2 * i + j, rotateHalf = h * d + j * half + i;
                    var (from, to) = undo ? (interleaved, rotateHalf) : (rotateHalf, interleaved);
                    Array.Copy(values, (long)from * cols, result, (long)to * cols, cols);
                }
        return result;
    }
}
