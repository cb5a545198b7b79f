using System.Text.Json.Nodes;
using TimeBill.Core.Tokenization;

namespace TimeBill.Tests.Tokenization;

/// <summary>
/// A small byte-level BPE tokenizer.json written to a temporary folder: the 256 byte-level symbols (ids 0-255),
/// merges a+b → ab (256) and Ġ+ab → Ġab (257), a ByteLevel pre-tokenizer and decoder. Tests change the JSON first.
/// </summary>
public sealed class TokenizerJsonFolder
{
    /// <summary>The tokenizer.json content, to modify before <see cref="Load"/>.</summary>
    public JsonObject Json { get; } = new()
    {
        ["version"] = "1.0",
        ["added_tokens"] = new JsonArray(),
        ["normalizer"] = null,
        ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = true },
        ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = true },
        ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = true },
        ["model"] = new JsonObject
        {
            ["type"] = "BPE",
            ["dropout"] = null,
            ["unk_token"] = null,
            ["continuing_subword_prefix"] = null,
            ["end_of_word_suffix"] = null,
            ["fuse_unk"] = false,
            ["byte_fallback"] = false,
            ["ignore_merges"] = false,
            ["vocab"] = Vocabulary(),
            ["merges"] = new JsonArray(new JsonArray("a", "b"), new JsonArray("Ġ", "ab")),
        },
    };

    /// <summary>The folder the files are written to.</summary>
    public string Folder { get; } = Directory.CreateTempSubdirectory("tokenizer-json-").FullName;

    /// <summary>The tokenizer.json path.</summary>
    public string JsonPath => Path.Combine(Folder, "tokenizer.json");

    /// <summary>The tokenizer_config.json path.</summary>
    public string ConfigPath => Path.Combine(Folder, "tokenizer_config.json");

    /// <summary>The model's vocabulary object.</summary>
    public JsonObject Vocab => Json["model"]!["vocab"]!.AsObject();

    /// <summary>Adds an added token with the next id after the vocabulary and earlier added tokens, returning the id.</summary>
    public int AddToken(string content, bool special = true, bool lstrip = false, bool rstrip = false, bool singleWord = false, bool normalized = false)
    {
        var added = Json["added_tokens"]!.AsArray();
        int id = Vocab.Count + added.Count;
        added.Add(new JsonObject
        {
            ["id"] = id, ["content"] = content, ["single_word"] = singleWord, ["lstrip"] = lstrip, ["rstrip"] = rstrip,
            ["normalized"] = normalized, ["special"] = special,
        });
        return id;
    }

    /// <summary>Writes the files (the config only when given) and loads the folder.</summary>
    public TextTokenizer Load(JsonObject? config = null)
    {
        Write(config);
        return TextTokenizer.Load(Folder);
    }

    /// <summary>Writes the files (the config only when given).</summary>
    public void Write(JsonObject? config = null)
    {
        File.WriteAllText(JsonPath, Json.ToJsonString());
        if (config is not null) File.WriteAllText(ConfigPath, config.ToJsonString());
    }

    private static JsonObject Vocabulary()
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.ToChar((byte)b).ToString()] = b;
        vocab["ab"] = 256;
        vocab["Ġab"] = 257;
        return vocab;
    }
}
