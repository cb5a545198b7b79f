using TimeBill.Kernels.Quantized;
using System.Runtime.InteropServices;
using System.Text.Json;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;
using static TorchSharp.torch;

namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>What <see cref="GgufExport.Write"/> wrote: the file, its bytes, and the type each weight matrix got.</summary>
/// <param name="Path">The file written.</param>
/// <param name="Bytes">Its length.</param>
/// <param name="MatrixTypes">How many matrices got each type (a matrix whose rows do not fit the asked block falls back).</param>
internal sealed record GgufExportReport(string Path, long Bytes, IReadOnlyDictionary<string, int> MatrixTypes);

/// <summary>
/// Writes a model (and the tokenizer of its folder) as a GGUF file llama.cpp loads: the shape under <c>{arch}.*</c>,
/// the tokenizer under <c>tokenizer.ggml.*</c>, the chat template, and every weight matrix in the asked type (norms and
/// biases stay F32), with llama's q/k rows permuted as llama.cpp's converter does.
/// </summary>
internal static class GgufExport
{
    /// <summary>The weight types <see cref="Write"/> takes, by their lower-case names.</summary>
    public static IReadOnlyList<string> Types { get; } = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k"];

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> with its matrices as <paramref name="type"/>, and the
    /// tokenizer and chat template of <paramref name="tokenizerFolder"/> (none: a file without vocabulary).
    /// </summary>
    /// <exception cref="ArgumentException">An unknown type, or a shape GGUF cannot describe (a sliding window).</exception>
    /// <exception cref="ModelLoadException">The tokenizer folder cannot be read.</exception>
    public static GgufExportReport Write(CausalLanguageModel model, string path, string type, string? tokenizerFolder = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var matrixType = ParseType(type);
        var c = model.Config;
        if (c.SlidingWindow is not null)
            throw new ArgumentException($"{model.Name} has sliding-window layers; GGUF's llama/qwen architectures cannot describe them.", nameof(model));
        string arch = GgufModel.ArchitectureName(c.Architecture);
        var metadata = new List<KeyValuePair<string, GgufValue>>();
        void Add(string key, object value) => metadata.Add(new(key, GgufValue.Of(value)));
        Add("general.architecture", arch);
        Add("general.name", model.Name);
        Add("general.file_type", FileType(matrixType));
        Add($"{arch}.context_length", (uint)c.MaxPositions);
        Add($"{arch}.embedding_length", (uint)c.HiddenSize);
        Add($"{arch}.block_count", (uint)c.LayerCount);
        Add($"{arch}.feed_forward_length", (uint)c.IntermediateSize);
        Add($"{arch}.attention.head_count", (uint)c.HeadCount);
        Add($"{arch}.attention.head_count_kv", (uint)c.KvHeadCount);
        Add($"{arch}.attention.key_length", (uint)c.HeadDim);
        Add($"{arch}.attention.value_length", (uint)c.HeadDim);
        Add($"{arch}.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps);
        Add($"{arch}.rope.freq_base", (float)c.Rope.Theta);
        Add($"{arch}.rope.dimension_count", (uint)c.HeadDim);
        Add($"{arch}.vocab_size", (uint)c.VocabSize);
        if (tokenizerFolder is not null) AddTokenizer(metadata, tokenizerFolder, model);
        else
        {
            Add("tokenizer.ggml.model", "no_vocab");
            if (model.GenerationConfig.BosTokenId is int bos) Add("tokenizer.ggml.bos_token_id", (uint)bos);
            Add("tokenizer.ggml.add_bos_token", model.GenerationConfig.BosTokenId is not null);
            AddStopIds(metadata, model);
        }

        var counts = new Dictionary<string, int>();
        var tensors = new List<GgufTensorSource>();
        var w = model.Weights;
        bool permuted = c.Architecture is ModelArchitecture.Llama or ModelArchitecture.Mistral;
        void Matrix(string name, WeightMatrix matrix, int start, int rows, int? heads = null)
        {
            int cols = matrix.Cols;
            var chosen = Fit(matrixType, cols);
            counts[chosen.ToString()] = counts.GetValueOrDefault(chosen.ToString()) + 1;
            tensors.Add(new(name, [cols, rows], chosen, () =>
            {
                using var t = matrix.Dequantize(start, rows);
                var values = Values(t);
                if (heads is int h) values = GgufModel.ApplyRotaryPermutation(values, h, [rows, cols]);
                return GgufQuantize.FromFloat32(values, chosen);
            }));
        }
        void Vector(string name, Func<Tensor> weight, int? heads = null)
        {
            using var probe = weight();
            long n = probe.shape[0];
            tensors.Add(new(name, [n], GgmlType.F32, () =>
            {
                using var t = weight();
                var values = Values(t);
                if (heads is int h) values = GgufModel.ApplyRotaryPermutation(values, h, [n]);
                return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            }));
        }

        int hd = c.HeadDim, q = c.HeadCount * hd, kv = c.KvHeadCount * hd, inter = c.IntermediateSize;
        Matrix("token_embd.weight", w.Embeddings, 0, c.VocabSize);
        if (FrequencyFactors(c) is { } factors)
            tensors.Add(new("rope_freqs.weight", [factors.Length], GgmlType.F32, () => MemoryMarshal.AsBytes(factors.AsSpan()).ToArray()));
        for (int i = 0; i < c.LayerCount; i++)
        {
            var l = w.Layers[i];
            string p = $"blk.{i}.";
            Vector(p + "attn_norm.weight", () => l.AttentionNorm.alias());
            Matrix(p + "attn_q.weight", l.Qkv, 0, q, permuted ? c.HeadCount : null);
            Matrix(p + "attn_k.weight", l.Qkv, q, kv, permuted ? c.KvHeadCount : null);
            Matrix(p + "attn_v.weight", l.Qkv, q + kv, kv);
            if (l.QkvBias is { } bias)
            {
                Vector(p + "attn_q.bias", () => bias.narrow(0, 0, q), permuted ? c.HeadCount : null);
                Vector(p + "attn_k.bias", () => bias.narrow(0, q, kv), permuted ? c.KvHeadCount : null);
                Vector(p + "attn_v.bias", () => bias.narrow(0, q + kv, kv));
            }
            if (l.QueryNorm is { } queryNorm) Vector(p + "attn_q_norm.weight", () => queryNorm.alias());
            if (l.KeyNorm is { } keyNorm) Vector(p + "attn_k_norm.weight", () => keyNorm.alias());
            Matrix(p + "attn_output.weight", l.Output, 0, c.HiddenSize);
            Vector(p + "ffn_norm.weight", () => l.MlpNorm.alias());
            Matrix(p + "ffn_gate.weight", l.GateUp, 0, inter);
            Matrix(p + "ffn_up.weight", l.GateUp, inter, inter);
            Matrix(p + "ffn_down.weight", l.Down, 0, c.HiddenSize);
        }
        Vector("output_norm.weight", () => w.FinalNorm.alias());
        if (!c.TieWordEmbeddings) Matrix("output.weight", w.Head, 0, c.VocabSize);

        GgufWriter.Write(path, metadata, tensors);
        return new GgufExportReport(path, new FileInfo(path).Length, counts);
    }

    private static GgmlType ParseType(string type) => (type ?? throw new ArgumentNullException(nameof(type))).ToLowerInvariant() switch
    {
        "f32" => GgmlType.F32,
        "f16" => GgmlType.F16,
        "bf16" => GgmlType.BF16,
        "q8_0" => GgmlType.Q8_0,
        "q4_0" => GgmlType.Q4_0,
        "q4_k" => GgmlType.Q4_K,
        "q5_k" => GgmlType.Q5_K,
        "q6_k" => GgmlType.Q6_K,
        _ => throw new ArgumentException($"weight type '{type}' is not one of {string.Join(", ", Types)}.", nameof(type)),
    };

    /// <summary>The type a matrix of <paramref name="cols"/> columns gets: the asked one when its block divides the row, else Q8_0, else F16.</summary>
    internal static GgmlType Fit(GgmlType type, long cols)
    {
        foreach (var candidate in new[] { type, GgmlType.Q8_0, GgmlType.F16 })
            if (cols % GgmlTypeInfo.Of(candidate).BlockSize == 0) return candidate;
        return GgmlType.F32;
    }

    /// <summary>llama.cpp's <c>general.file_type</c> for files whose matrices are all <paramref name="type"/>.</summary>
    private static uint FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q8_0 => 7,
        GgmlType.Q4_K => 14,
        GgmlType.Q5_K => 16,
        GgmlType.Q6_K => 18,
        GgmlType.BF16 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>The per-frequency divisors llama.cpp applies (rope_freqs.weight) for llama3 scaling or read factors; null for plain RoPE.</summary>
    private static float[]? FrequencyFactors(ModelConfig c)
    {
        if (c.Rope.Type == "default" && c.Rope.FrequencyFactors is null) return null;
        using var plain = RotaryEmbedding.InverseFrequencies(c.HeadDim, new RopeScaling(c.Rope.Theta));
        using var scaled = RotaryEmbedding.InverseFrequencies(c.HeadDim, c.Rope);
        using var ratio = plain / scaled;
        return ratio.data<float>().ToArray();
    }

    private static float[] Values(Tensor tensor)
    {
        using var contiguous = tensor.contiguous();
        return contiguous.data<float>().ToArray();
    }

    private static void AddTokenizer(List<KeyValuePair<string, GgufValue>> metadata, string folder, CausalLanguageModel model)
    {
        void Add(string key, object value) => metadata.Add(new(key, GgufValue.Of(value)));
        string spm = Path.Combine(folder, "tokenizer.model"), json = Path.Combine(folder, "tokenizer.json");
        int vocab = model.Config.VocabSize;
        if (File.Exists(spm))
        {
            var proto = SentencePieceModelProto.Read(File.ReadAllBytes(spm), spm);
            if (proto.Pieces.Count != vocab)
                throw new ModelLoadException(spm, $"{proto.Pieces.Count} pieces but the model has {vocab} embedding rows.");
            Add("tokenizer.ggml.model", "llama");
            Add("tokenizer.ggml.tokens", GgufArray.Of(proto.Pieces.Select(p => p.Piece).ToArray()));
            Add("tokenizer.ggml.scores", GgufArray.Of(proto.Pieces.Select(p => p.Score).ToArray()));
            Add("tokenizer.ggml.token_type", GgufArray.Of(proto.Pieces.Select(p => p.Type).ToArray()));
            Add("tokenizer.ggml.unknown_token_id", (uint)proto.UnknownId);
            Add("tokenizer.ggml.bos_token_id", (uint)proto.BosId);
            Add("tokenizer.ggml.eos_token_id", (uint)proto.EosId);
            if (proto.PadId >= 0) Add("tokenizer.ggml.padding_token_id", (uint)proto.PadId);
            Add("tokenizer.ggml.add_bos_token", model.GenerationConfig.BosTokenId is not null);
            Add("tokenizer.ggml.add_eos_token", false);
            Add("tokenizer.ggml.add_space_prefix", proto.AddDummyPrefix);
        }
        else
        {
            var tokenizer = TextTokenizer.Load(folder, model.GenerationConfig.BosTokenId);
            using var document = JsonFile.Read(json);
            var root = document.RootElement;
            var tokens = new string[vocab];
            var types = new int[vocab];
            foreach (var entry in root.GetProperty("model").GetProperty("vocab").EnumerateObject())
                if (entry.Value.GetInt32() is var id && id < vocab) (tokens[id], types[id]) = (entry.Name, 1);
            if (root.Optional("added_tokens") is { ValueKind: JsonValueKind.Array } added)
                foreach (var token in added.EnumerateArray())
                    if (token.GetProperty("id").GetInt32() is var id && id < vocab)
                        (tokens[id], types[id]) = (token.GetProperty("content").GetString()!, token.OptionalBool("special", json) == true ? 3 : 4);
            for (int id = 0; id < vocab; id++)
                if (tokens[id] is null) (tokens[id], types[id]) = ($"[PAD{id}]", 5);
            var merges = root.GetProperty("model").GetProperty("merges").EnumerateArray()
                .Select(m => m.ValueKind == JsonValueKind.Array ? $"{m[0].GetString()} {m[1].GetString()}" : m.GetString()!).ToArray();
            string? split = root.Optional("pre_tokenizer") is { } pre && pre.Optional("pretokenizers") is { ValueKind: JsonValueKind.Array } steps
                ? steps.EnumerateArray().Select(s => s.Optional("pattern")?.OptionalString("Regex", json)).FirstOrDefault(r => r is not null)
                : null;
            string preName = GgufByteLevelBpe.PreTokenizerName(split)
                ?? throw new ModelLoadException(json, "its pre-tokenizer's split pattern has no GGUF name (known: llama-bpe, qwen2, gpt-2).");
            Add("tokenizer.ggml.model", "gpt2");
            Add("tokenizer.ggml.pre", preName);
            Add("tokenizer.ggml.tokens", GgufArray.Of(tokens));
            Add("tokenizer.ggml.token_type", GgufArray.Of(types));
            Add("tokenizer.ggml.merges", GgufArray.Of(merges));
            if (tokenizer.BosToken is { } bos && tokenizer.TokenToId(bos) is int bosId) Add("tokenizer.ggml.bos_token_id", (uint)bosId);
            if (tokenizer.EosTokenId is int eosId) Add("tokenizer.ggml.eos_token_id", (uint)eosId);
            if (tokenizer.SpecialTokensMap.GetValueOrDefault("pad_token") is { } pad && tokenizer.TokenToId(pad) is int padId)
                Add("tokenizer.ggml.padding_token_id", (uint)padId);
            int[] prompt = tokenizer.EncodePrompt("a"), plain = tokenizer.Encode("a");
            Add("tokenizer.ggml.add_bos_token", prompt.Length > plain.Length && prompt[0] == tokenizer.BosTokenId);
            Add("tokenizer.ggml.add_eos_token", false);
        }
        AddStopIds(metadata, model);
        if (ChatTemplateText(folder) is { } template) Add("tokenizer.chat_template", template);
    }

    /// <summary>llama.cpp ends generation on eos, eot and eom: the model's stop ids other than a named eos go to the free ones.</summary>
    private static void AddStopIds(List<KeyValuePair<string, GgufValue>> metadata, CausalLanguageModel model)
    {
        var keys = new Queue<string>(["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"]);
        var named = metadata.Where(m => m.Key == "tokenizer.ggml.eos_token_id").Select(m => Convert.ToInt64(m.Value.Value)).ToList();
        if (named.Count > 0) keys.Dequeue();
        foreach (int stop in model.GenerationConfig.StopTokenIds.Where(id => !named.Contains(id)).Take(keys.Count))
            metadata.Add(new(keys.Dequeue(), GgufValue.Of((uint)stop)));
    }

    private static string? ChatTemplateText(string folder)
    {
        string jinja = Path.Combine(folder, "chat_template.jinja"), config = Path.Combine(folder, "tokenizer_config.json");
        if (File.Exists(jinja)) return File.ReadAllText(jinja);
        if (!File.Exists(config)) return null;
        using var document = JsonFile.Read(config);
        return document.RootElement.Optional("chat_template") switch
        {
            { ValueKind: JsonValueKind.String } s => s.GetString(),
            { ValueKind: JsonValueKind.Array } a => a.EnumerateArray().FirstOrDefault(t => t.OptionalString("name", config) == "default").OptionalString("template", config),
            _ => null,
        };
    }
}
