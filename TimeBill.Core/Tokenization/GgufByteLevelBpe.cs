using System.Text.Json;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Checkpoints.Gguf;

namespace TimeBill.Core.Tokenization;

/// <summary>
/// A GGUF <c>gpt2</c> vocabulary as the tokenizer.json it was converted from: normal and byte tokens form the BPE
/// vocabulary, control tokens become special added tokens and user-defined ones plain added tokens, unused padding
/// entries are left out; <c>tokenizer.ggml.pre</c> names the pre-tokenizer.
/// </summary>
internal static class GgufByteLevelBpe
{
    private const string Llama3Split = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Split = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The pre-tokenizer names read, and the split pattern each stands for (null: GPT-2's byte-level regex).</summary>
    public static readonly IReadOnlyDictionary<string, string?> PreTokenizers = new Dictionary<string, string?>
    {
        ["llama-bpe"] = Llama3Split,
        ["llama3"] = Llama3Split,
        ["qwen2"] = Qwen2Split,
        ["gpt-2"] = null,
        ["gpt2"] = null,
        ["default"] = null,
        ["smollm"] = null,
    };

    /// <summary>The <c>pre</c> name of a tokenizer.json split pattern (null: GPT-2's regex), or null when GGUF has no name for it.</summary>
    public static string? PreTokenizerName(string? splitPattern) =>
        splitPattern is null ? "gpt-2" : PreTokenizers.FirstOrDefault(p => p.Value == splitPattern).Key;

    public static TextTokenizer Load(GgufFile file, string[] tokens, int[] types)
    {
        string pre = file.String("tokenizer.ggml.pre") ?? "default";
        if (!PreTokenizers.TryGetValue(pre, out string? split))
            throw new ModelLoadException(file.Path, $"tokenizer.ggml.pre '{pre}' is not supported; supported: {string.Join(", ", PreTokenizers.Keys)}.");
        string[] merges = file.Array<string>("tokenizer.ggml.merges") ?? throw new ModelLoadException(file.Path, "metadata 'tokenizer.ggml.merges' is missing.");
        int last = tokens.Length - 1;
        var named = new Dictionary<string, ConfigToken>();
        foreach (var (field, key) in new[] { ("bos_token", "bos"), ("eos_token", "eos"), ("unk_token", "unknown"), ("pad_token", "padding") })
            if (file.Int32($"tokenizer.ggml.{key}_token_id", 0, last) is int id && types[id] is 3 or 4)
                named[field] = new ConfigToken(tokens[id]);
        var config = TokenizerConfig.Create(named, file.Bool("tokenizer.ggml.add_bos_token") ?? false, file.Bool("tokenizer.ggml.add_eos_token") ?? false);

        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteStartArray("added_tokens");
            for (int id = 0; id < tokens.Length; id++)
            {
                if (types[id] is not (3 or 4)) continue;
                json.WriteStartObject();
                json.WriteNumber("id", id);
                json.WriteString("content", tokens[id]);
                json.WriteBoolean("special", types[id] == 3);
                json.WriteBoolean("normalized", false);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (pre == "qwen2")
            {
                json.WriteStartObject("normalizer");
                json.WriteString("type", "NFC");
                json.WriteEndObject();
            }
            json.WriteStartObject("pre_tokenizer");
            if (split is null) WriteByteLevel(json, useRegex: true);
            else
            {
                json.WriteString("type", "Sequence");
                json.WriteStartArray("pretokenizers");
                json.WriteStartObject();
                json.WriteString("type", "Split");
                json.WriteStartObject("pattern");
                json.WriteString("Regex", split);
                json.WriteEndObject();
                json.WriteString("behavior", "Isolated");
                json.WriteBoolean("invert", false);
                json.WriteEndObject();
                json.WriteStartObject();
                WriteByteLevel(json, useRegex: false);
                json.WriteEndObject();
                json.WriteEndArray();
            }
            json.WriteEndObject();
            json.WriteStartObject("decoder");
            json.WriteString("type", "ByteLevel");
            json.WriteEndObject();
            json.WriteStartObject("model");
            json.WriteString("type", "BPE");
            json.WriteBoolean("ignore_merges", split == Llama3Split);
            json.WriteStartObject("vocab");
            for (int id = 0; id < tokens.Length; id++)
                if (types[id] is 1 or 2 or 6) json.WriteNumber(tokens[id], id);
            json.WriteEndObject();
            json.WriteStartArray("merges");
            foreach (string merge in merges) json.WriteStringValue(merge);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        using var document = JsonDocument.Parse(buffer.ToArray());
        return TextTokenizer.FromByteLevelBpe(TokenizerJson.Parse(document.RootElement, config, $"{file.Path}: tokenizer.ggml.*"), config);
    }

    private static void WriteByteLevel(Utf8JsonWriter json, bool useRegex)
    {
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", false);
        json.WriteBoolean("use_regex", useRegex);
    }
}
