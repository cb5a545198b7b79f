using System.Text.Json;
using TimeBill.Core.Checkpoints;

namespace TimeBill.Core.Tokenization;

/// <summary>A special token named in tokenizer_config.json, with the added-token flags an object form may carry.</summary>
internal sealed record ConfigToken(string Content, bool SingleWord = false, bool LStrip = false, bool RStrip = false, bool Normalized = false);

/// <summary>
/// What transformers reads from tokenizer_config.json besides the tokenizer itself: the named special tokens
/// (<c>bos_token</c>, <c>eos_token</c>, …, each a string, null, or an object with <c>content</c>), the extra special
/// tokens, and <c>add_bos_token</c>/<c>add_eos_token</c>.
/// </summary>
internal sealed class TokenizerConfig
{
    /// <summary>The named special-token fields transformers knows.</summary>
    public static readonly string[] NamedTokenFields = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

    /// <summary>A config with nothing set (a folder without tokenizer_config.json).</summary>
    public static readonly TokenizerConfig Empty = new(new Dictionary<string, ConfigToken>(), [], null, null);

    private TokenizerConfig(IReadOnlyDictionary<string, ConfigToken> namedTokens, IReadOnlyList<ConfigToken> extraSpecialTokens,
        bool? addBosToken, bool? addEosToken)
    {
        NamedTokens = namedTokens;
        ExtraSpecialTokens = extraSpecialTokens;
        AddBosToken = addBosToken;
        AddEosToken = addEosToken;
    }

    /// <summary>A config with these settings (a GGUF file's, say).</summary>
    public static TokenizerConfig Create(IReadOnlyDictionary<string, ConfigToken> namedTokens, bool? addBosToken, bool? addEosToken) =>
        new(namedTokens, [], addBosToken, addEosToken);

    /// <summary>The named special tokens that are set, by field name (<c>eos_token</c> → <c>&lt;|im_end|&gt;</c>).</summary>
    public IReadOnlyDictionary<string, ConfigToken> NamedTokens { get; }

    /// <summary><c>additional_special_tokens</c> / <c>extra_special_tokens</c>.</summary>
    public IReadOnlyList<ConfigToken> ExtraSpecialTokens { get; }

    /// <summary><c>add_bos_token</c>, when the file sets it.</summary>
    public bool? AddBosToken { get; }

    /// <summary><c>add_eos_token</c>, when the file sets it.</summary>
    public bool? AddEosToken { get; }

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="ModelLoadException">Invalid JSON or a field of the wrong type.</exception>
    public static TokenizerConfig Load(string path)
    {
        using var document = JsonFile.Read(path);
        var root = document.RootElement;
        var named = new Dictionary<string, ConfigToken>();
        foreach (string field in NamedTokenFields)
            if (root.Optional(field) is { } value)
                named[field] = ParseToken(value, field, path);
        var extra = new List<ConfigToken>();
        foreach (string field in new[] { "additional_special_tokens", "extra_special_tokens" })
        {
            switch (root.Optional(field))
            {
                case null: break;
                case { ValueKind: JsonValueKind.Array } list:
                    extra.AddRange(list.EnumerateArray().Select(e => ParseToken(e, field, path)));
                    break;
                // transformers 5 also writes extra_special_tokens as a {name: token} object.
                case { ValueKind: JsonValueKind.Object } map:
                    extra.AddRange(map.EnumerateObject().Select(p => ParseToken(p.Value, $"{field}.{p.Name}", path)));
                    break;
                default: throw new ModelLoadException(path, $"field '{field}' must be a list of tokens.");
            }
        }
        return new TokenizerConfig(named, extra, root.OptionalBool("add_bos_token", path), root.OptionalBool("add_eos_token", path));
    }

    private static ConfigToken ParseToken(JsonElement value, string field, string path) => value.ValueKind switch
    {
        JsonValueKind.String when value.GetString() is { Length: > 0 } content => new ConfigToken(content),
        JsonValueKind.Object when value.OptionalString("content", path) is { Length: > 0 } content => new ConfigToken(content,
            value.OptionalBool("single_word", path) ?? false, value.OptionalBool("lstrip", path) ?? false,
            value.OptionalBool("rstrip", path) ?? false, value.OptionalBool("normalized", path) ?? false),
        _ => throw new ModelLoadException(path, $"field '{field}' must be a non-empty string, null, or an object with a non-empty 'content'."),
    };
}
