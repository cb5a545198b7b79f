using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TimeBill.Core.Checkpoints;

namespace TimeBill.Core.Model;

/// <summary>
/// The shape of a Llama/Qwen2/Qwen3/Mistral decoder, read from a Hugging Face <c>config.json</c> in either style: classic
/// (<c>rope_theta</c> + <c>rope_scaling</c>) or transformers-5 (<c>rope_parameters</c>).
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Which architecture the weights belong to.</summary>
    public required ModelArchitecture Architecture { get; init; }
    /// <summary>Width of the residual stream.</summary>
    public required int HiddenSize { get; init; }
    /// <summary>Width of the SwiGLU feed-forward layer.</summary>
    public required int IntermediateSize { get; init; }
    /// <summary>Number of decoder layers.</summary>
    public required int LayerCount { get; init; }
    /// <summary>Number of query heads.</summary>
    public required int HeadCount { get; init; }
    /// <summary>Number of key/value heads (grouped-query attention when fewer than <see cref="HeadCount"/>).</summary>
    public required int KvHeadCount { get; init; }
    /// <summary>Width of one attention head.</summary>
    public required int HeadDim { get; init; }
    /// <summary>Vocabulary size.</summary>
    public required int VocabSize { get; init; }
    /// <summary>The longest context the model supports.</summary>
    public required int MaxPositions { get; init; }
    /// <summary>RMSNorm epsilon.</summary>
    public required double RmsNormEps { get; init; }
    /// <summary>Rotary embedding parameters.</summary>
    public required RopeScaling Rope { get; init; }
    /// <summary>Whether the output head reuses the token embedding matrix.</summary>
    public required bool TieWordEmbeddings { get; init; }
    /// <summary>Whether the q/k/v projections carry biases (always for Qwen2).</summary>
    public required bool AttentionBias { get; init; }
    /// <summary>Whether queries and keys get a per-head RMSNorm before the rotation (Qwen3).</summary>
    public bool QkNorm { get; init; }
    /// <summary>
    /// Keys a query sees on a sliding-window layer: itself and the <c>SlidingWindow − 1</c> positions before it; null
    /// when no layer has a window.
    /// </summary>
    public int? SlidingWindow { get; init; }
    /// <summary>Per layer, whether it attends through <see cref="SlidingWindow"/> (empty when no layer does).</summary>
    public IReadOnlyList<bool> SlidingWindowLayers { get; init; } = [];
    /// <summary>Beginning-of-sequence token id, if the model has one.</summary>
    public int? BosTokenId { get; init; }
    /// <summary>End-of-sequence token ids from config.json.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>The window of <paramref name="layer"/>, or null when it attends to the whole context.</summary>
    public int? WindowOf(int layer) => SlidingWindowLayers.Count > 0 && SlidingWindowLayers[layer] ? SlidingWindow : null;

    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => HeadCount / KvHeadCount;

    /// <summary>Number of weights, embeddings included once when tied.</summary>
    public long ParameterCount
    {
        get
        {
            long attention = (long)HiddenSize * HeadDim * (2 * HeadCount + 2 * KvHeadCount);
            long mlp = 3L * HiddenSize * IntermediateSize;
            long embeddings = (long)VocabSize * HiddenSize * (TieWordEmbeddings ? 1 : 2);
            return LayerCount * (attention + mlp + 2L * HiddenSize + (QkNorm ? 2L * HeadDim : 0)) + embeddings + HiddenSize;
        }
    }

    /// <summary>A short stable hash of the shape, for keying profiles and predictor files.</summary>
    public string ShapeHash
    {
        get
        {
            string shape = string.Join('|', Architecture, HiddenSize, IntermediateSize, LayerCount, HeadCount, KvHeadCount, HeadDim,
                VocabSize, MaxPositions, RmsNormEps, Rope, TieWordEmbeddings, AttentionBias);
            // Only shapes with these features hash them, so the hashes of earlier shapes (and files keyed by them) stay.
            if (QkNorm) shape += "|qk-norm";
            if (SlidingWindow is int window) shape += $"|window {window}:{string.Concat(SlidingWindowLayers.Select(w => w ? '1' : '0'))}";
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(shape)))[..16];
        }
    }

    /// <summary>Reads and validates <paramref name="path"/> (a config.json).</summary>
    /// <exception cref="ModelLoadException">Missing file, invalid JSON, unknown architecture or inconsistent shape.</exception>
    public static ModelConfig Load(string path)
    {
        using var document = JsonFile.Read(path);
        return Parse(document.RootElement, path);
    }

    /// <summary>Parses a config.json object; <paramref name="path"/> names the source in errors.</summary>
    public static ModelConfig Parse(JsonElement root, string path)
    {
        var architecture = ParseArchitecture(root, path);
        int hidden = root.RequiredInt("hidden_size", path);
        int heads = root.RequiredInt("num_attention_heads", path);
        int kvHeads = root.OptionalInt("num_key_value_heads", path) ?? heads;
        int? explicitHeadDim = root.OptionalInt("head_dim", path);
        if (explicitHeadDim is null && heads > 0 && hidden % heads != 0)
            throw new ModelLoadException(path, $"hidden_size ({hidden}) is not a multiple of num_attention_heads ({heads}) and no head_dim is given.");
        int headDim = explicitHeadDim ?? (heads > 0 ? hidden / heads : 0);
        int layerCount = root.RequiredInt("num_hidden_layers", path);
        var (window, windowLayers) = ParseSlidingWindow(root, architecture, layerCount, path);
        var config = new ModelConfig
        {
            Architecture = architecture,
            HiddenSize = hidden,
            IntermediateSize = root.RequiredInt("intermediate_size", path),
            LayerCount = layerCount,
            HeadCount = heads,
            KvHeadCount = kvHeads,
            HeadDim = headDim,
            VocabSize = root.RequiredInt("vocab_size", path),
            MaxPositions = root.OptionalInt("max_position_embeddings", path) ?? 2048,
            RmsNormEps = root.TryGetProperty("rms_norm_eps", out var eps) && eps.ValueKind == JsonValueKind.Null
                ? throw new ModelLoadException(path, "rms_norm_eps is null; give a positive number or leave the field out (default 1e-6).")
                : root.OptionalDouble("rms_norm_eps", path) ?? 1e-6,
            Rope = ParseRope(root, path),
            TieWordEmbeddings = root.OptionalBool("tie_word_embeddings", path) ?? true,
            AttentionBias = architecture == ModelArchitecture.Qwen2 || (root.OptionalBool("attention_bias", path) ?? false),
            QkNorm = architecture == ModelArchitecture.Qwen3,
            SlidingWindow = window,
            SlidingWindowLayers = windowLayers,
            BosTokenId = root.OptionalInt("bos_token_id", path),
            EosTokenIds = root.IntOrList("eos_token_id", path),
        };
        config.Validate(path);
        return config;
    }

    private static ModelArchitecture ParseArchitecture(JsonElement root, string path)
    {
        var names = root.Optional("architectures") switch
        {
            null => [],
            { ValueKind: JsonValueKind.Array } a when a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) => a.EnumerateArray().Select(e => e.GetString()!).ToArray(),
            _ => throw new ModelLoadException(path, "field 'architectures' must be a list of strings."),
        };
        string modelType = root.OptionalString("model_type", path) ?? "";
        if (names.Contains("LlamaForCausalLM") || (names.Length == 0 && modelType == "llama")) return ModelArchitecture.Llama;
        if (names.Contains("Qwen2ForCausalLM") || (names.Length == 0 && modelType == "qwen2")) return ModelArchitecture.Qwen2;
        if (names.Contains("Qwen3ForCausalLM") || (names.Length == 0 && modelType == "qwen3")) return ModelArchitecture.Qwen3;
        if (names.Contains("MistralForCausalLM") || (names.Length == 0 && modelType == "mistral")) return ModelArchitecture.Mistral;
        string found = names.Length > 0 ? string.Join(", ", names) : $"model_type '{modelType}'";
        throw new ModelLoadException(path, $"unknown architecture {found}; supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM.");
    }

    /// <summary>
    /// The window and which layers use it, as transformers decides: <c>layer_types</c> when given; else every layer for
    /// Mistral with a <c>sliding_window</c>; else, for Qwen2/Qwen3 with <c>use_sliding_window</c>, the layers from
    /// <c>max_window_layers</c> on.
    /// </summary>
    private static (int? Window, bool[] Layers) ParseSlidingWindow(JsonElement root, ModelArchitecture architecture, int layerCount, string path)
    {
        int? window = root.OptionalInt("sliding_window", path);
        if (window is <= 0) throw new ModelLoadException(path, $"sliding_window ({window}) must be positive.");
        bool[]? layers = null;
        if (root.Optional("layer_types") is { ValueKind: JsonValueKind.Array } types)
        {
            var names = types.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String ? t.GetString()! : "").ToArray();
            if (names.Length != layerCount)
                throw new ModelLoadException(path, $"layer_types lists {names.Length} layers but num_hidden_layers is {layerCount}.");
            foreach (string name in names)
                if (name is not ("full_attention" or "sliding_attention"))
                    throw new ModelLoadException(path, $"layer_types holds '{name}'; supported: full_attention, sliding_attention.");
            layers = names.Select(n => n == "sliding_attention").ToArray();
        }
        else if (architecture == ModelArchitecture.Mistral && window is not null) layers = Enumerable.Repeat(true, Math.Max(layerCount, 0)).ToArray();
        else if ((architecture is ModelArchitecture.Qwen2 or ModelArchitecture.Qwen3) && window is not null && (root.OptionalBool("use_sliding_window", path) ?? false))
        {
            int from = root.OptionalInt("max_window_layers", path) ?? 0;
            layers = Enumerable.Range(0, Math.Max(layerCount, 0)).Select(i => i >= from).ToArray();
        }
        if (layers is null || !layers.Contains(true)) return (null, []);
        if (window is null) throw new ModelLoadException(path, "layer_types has sliding_attention layers but sliding_window is not set.");
        return (window, layers);
    }

    private static RopeScaling ParseRope(JsonElement root, string path)
    {
        // transformers 5 folds theta and scaling into rope_parameters; the classic style has rope_theta + rope_scaling.
        var parameters = root.Optional("rope_parameters") ?? root.Optional("rope_scaling");
        double theta = root.OptionalDouble("rope_theta", path)
            ?? (parameters is { } p ? p.OptionalDouble("rope_theta", path) : null)
            ?? 10000.0;
        if (parameters is not { ValueKind: JsonValueKind.Object } scaling) return new RopeScaling(theta);

        string type = scaling.OptionalString("rope_type", path) ?? scaling.OptionalString("type", path) ?? "default";
        return type switch
        {
            "default" => new RopeScaling(theta),
            "llama3" => new RopeScaling(
                theta,
                "llama3",
                scaling.OptionalDouble("factor", path) ?? throw new ModelLoadException(path, "llama3 rope scaling needs 'factor'."),
                scaling.OptionalDouble("low_freq_factor", path) ?? 1,
                scaling.OptionalDouble("high_freq_factor", path) ?? 4,
                scaling.OptionalInt("original_max_position_embeddings", path)
                    ?? throw new ModelLoadException(path, "llama3 rope scaling needs 'original_max_position_embeddings'.")),
            _ => throw new ModelLoadException(path, $"unsupported rope type '{type}'; supported: default, llama3."),
        };
    }

    internal void Validate(string path)
    {
        void Require(bool ok, string problem) { if (!ok) throw new ModelLoadException(path, problem); }
        Require(HiddenSize > 0 && IntermediateSize > 0 && LayerCount > 0 && VocabSize > 0 && MaxPositions > 0,
            "hidden_size, intermediate_size, num_hidden_layers, vocab_size and max_position_embeddings must be positive.");
        Require(HeadCount > 0 && KvHeadCount > 0 && HeadCount % KvHeadCount == 0,
            $"num_attention_heads ({HeadCount}) must be a positive multiple of num_key_value_heads ({KvHeadCount}).");
        Require(HeadDim > 0 && HeadDim % 2 == 0, $"head_dim ({HeadDim}) must be positive and even.");
        // Sizes beyond any released model are refused before anything is allocated from them.
        Require(HiddenSize <= 1 << 17 && IntermediateSize <= 1 << 19 && LayerCount <= 1024 && HeadCount <= 4096 && HeadDim <= 4096
            && VocabSize <= 1 << 24 && MaxPositions <= 1 << 24,
            $"a size is beyond any model this library loads (hidden_size {HiddenSize}, intermediate_size {IntermediateSize}, num_hidden_layers {LayerCount}, "
            + $"num_attention_heads {HeadCount}, head_dim {HeadDim}, vocab_size {VocabSize}, max_position_embeddings {MaxPositions}).");
        Require(double.IsFinite(RmsNormEps) && RmsNormEps > 0 && (float)RmsNormEps > 0,
            $"rms_norm_eps ({RmsNormEps}) must be a positive finite number that float32 can hold.");
        Require(double.IsFinite(Rope.Theta) && Rope.Theta > 1,
            $"rope_theta ({Rope.Theta}) must be finite and greater than 1 (the base of the rotation frequencies).");
        if (Rope.Type == "llama3")
        {
            Require(double.IsFinite(Rope.Factor) && Rope.Factor > 0, $"llama3 rope scaling: factor ({Rope.Factor}) must be positive and finite.");
            Require(double.IsFinite(Rope.LowFrequencyFactor) && double.IsFinite(Rope.HighFrequencyFactor) && Rope.LowFrequencyFactor > 0
                && Rope.HighFrequencyFactor > Rope.LowFrequencyFactor,
                $"llama3 rope scaling: low_freq_factor ({Rope.LowFrequencyFactor}) and high_freq_factor ({Rope.HighFrequencyFactor}) must be positive and finite, high above low.");
            Require(Rope.OriginalMaxPositions > 0, $"llama3 rope scaling: original_max_position_embeddings ({Rope.OriginalMaxPositions}) must be positive.");
        }
        if (Rope.FrequencyFactors is { } factors)
            Require(factors.Values.Count == HeadDim / 2 && factors.Values.All(f => float.IsFinite(f) && f > 0),
                $"rope frequency factors: {factors.Values.Count} values, all positive and finite, are needed for head_dim {HeadDim} ({HeadDim / 2}).");
        CheckTokenIds(path, VocabSize, BosTokenId, EosTokenIds);
    }

    /// <summary>Throws unless every given special-token id lies in the vocabulary.</summary>
    internal static void CheckTokenIds(string path, int vocabSize, int? bos, IReadOnlyList<int> eos)
    {
        if (bos is int b && (uint)b >= (uint)vocabSize)
            throw new ModelLoadException(path, $"bos_token_id {b} is outside the vocabulary (0..{vocabSize - 1}).");
        foreach (int e in eos)
            if ((uint)e >= (uint)vocabSize)
                throw new ModelLoadException(path, $"eos_token_id {e} is outside the vocabulary (0..{vocabSize - 1}).");
    }
}
