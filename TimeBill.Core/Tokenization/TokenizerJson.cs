using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using TimeBill.Core.Checkpoints;

namespace TimeBill.Core.Tokenization;

/// <summary>
/// Reads a Hugging Face tokenizer.json holding a byte-level BPE (and the special-token settings of the folder's
/// tokenizer_config.json) into a <see cref="ByteLevelBpeTokenizer"/>, the way transformers 5 assembles it. Anything
/// it cannot run exactly is refused with a <see cref="ModelLoadException"/> naming the part.
/// </summary>
internal static class TokenizerJson
{
    /// <summary>Reads <paramref name="path"/>; <paramref name="config"/> holds the tokenizer_config.json settings.</summary>
    /// <exception cref="ModelLoadException">Malformed JSON, an unsupported or inconsistent part.</exception>
    public static ByteLevelBpeTokenizer Load(string path, TokenizerConfig config)
    {
        using var document = JsonFile.Read(path);
        return Parse(document.RootElement, config, path);
    }

    /// <summary>Reads a tokenizer.json object; <paramref name="path"/> names its source in errors.</summary>
    /// <exception cref="ModelLoadException">An unsupported or inconsistent part.</exception>
    public static ByteLevelBpeTokenizer Parse(JsonElement root, TokenizerConfig config, string path)
    {
        if (root.OptionalString("version", path) is { } version && version != "1.0")
            throw new ModelLoadException(path, $"unknown tokenizer.json version '{version}' (expected 1.0).");
        var (model, vocabulary) = ReadModel(root, path);
        var addedTokens = ReadAddedTokens(root, vocabulary, path);
        bool nfc = ReadNormalizer(root.Optional("normalizer"), path);
        if (nfc) addedTokens = [.. addedTokens.Select(t => t.Normalized ? t with { Content = NfcNormalizer.Normalize(t.Content) } : t)];
        var preTokenizer = ReadPreTokenizer(root.Optional("pre_tokenizer"), path);
        CheckDecoder(root.Optional("decoder"), path);
        addedTokens = AddConfigSpecialTokens(addedTokens, vocabulary, config);
        var (prefix, suffix) = PromptTokens(root.Optional("post_processor"), config, addedTokens, vocabulary, path);
        return new ByteLevelBpeTokenizer(model, vocabulary, addedTokens, nfc, preTokenizer, prefix, suffix);
    }

    private static (BpeModel Model, Dictionary<string, int> Vocabulary) ReadModel(JsonElement root, string path)
    {
        if (root.Optional("model") is not { ValueKind: JsonValueKind.Object } model)
            throw new ModelLoadException(path, "the 'model' object is missing.");
        string type = model.OptionalString("type", path)
            ?? throw new ModelLoadException(path, "model.type is missing (only byte-level \"BPE\" models are supported).");
        if (type != "BPE") throw new ModelLoadException(path, $"model type '{type}' is not supported (only byte-level \"BPE\").");
        if (model.OptionalDouble("dropout", path) is { } dropout && dropout != 0)
            throw new ModelLoadException(path, $"BPE dropout {dropout} is not supported (encoding would not be deterministic).");

        if (model.Optional("vocab") is not { ValueKind: JsonValueKind.Object } vocab)
            throw new ModelLoadException(path, "model.vocab is missing or not an object of token → id.");
        var vocabulary = new Dictionary<string, int>(vocab.EnumerateObject().Count(), StringComparer.Ordinal);
        var owners = new Dictionary<int, string>(vocabulary.Capacity);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new ModelLoadException(path, $"model.vocab['{entry.Name}'] is not a non-negative integer id.");
            if (!owners.TryAdd(id, entry.Name))
                throw new ModelLoadException(path, $"model.vocab gives id {id} to both '{owners[id]}' and '{entry.Name}'.");
            if (!vocabulary.TryAdd(entry.Name, id)) throw new ModelLoadException(path, $"model.vocab lists '{entry.Name}' twice.");
        }

        if (model.Optional("merges") is not { ValueKind: JsonValueKind.Array } mergeList)
            throw new ModelLoadException(path, "model.merges is missing or not a list.");
        var lookup = vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();
        var merges = new List<(int, int)>(mergeList.GetArrayLength());
        foreach (var merge in mergeList.EnumerateArray())
            merges.Add(ReadMerge(merge, lookup, merges.Count, path));

        var options = new BpeOptions(model.OptionalString("unk_token", path), model.OptionalBool("fuse_unk", path) ?? false,
            model.OptionalBool("byte_fallback", path) ?? false, model.OptionalString("continuing_subword_prefix", path),
            model.OptionalString("end_of_word_suffix", path), model.OptionalBool("ignore_merges", path) ?? false);
        try
        {
            return (new BpeModel(vocabulary, merges, options), vocabulary);
        }
        catch (ArgumentException e)
        {
            throw new ModelLoadException(path, $"model: {e.Message}", e);
        }
    }

    /// <summary>A merge, <c>"left right"</c> (older files) or <c>["left", "right"]</c>, as the ids of its two vocabulary strings.</summary>
    private static (int, int) ReadMerge(JsonElement merge, Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocabulary,
        int rank, string path)
    {
        Span<char> buffer = stackalloc char[512];
        scoped ReadOnlySpan<char> left, right;
        if (merge.ValueKind == JsonValueKind.String && Text(merge, buffer) is var text && text.IndexOf(' ') is var space and >= 0
            && text[(space + 1)..].IndexOf(' ') < 0)
        {
            left = text[..space];
            right = text[(space + 1)..];
        }
        else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
            && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
        {
            left = Text(merge[0], buffer[..256]);
            right = Text(merge[1], buffer[256..]);
        }
        else throw new ModelLoadException(path, $"model.merges[{rank}] is neither \"left right\" nor [\"left\", \"right\"].");
        if (!vocabulary.TryGetValue(left, out int leftId) || !vocabulary.TryGetValue(right, out int rightId))
            throw new ModelLoadException(path, $"model.merges[{rank}] ('{left} {right}') refers to "
                + $"'{(vocabulary.TryGetValue(left, out _) ? right : left)}', which is not in the vocabulary.");
        return (leftId, rightId);
    }

    /// <summary>A JSON string's text, decoded into <paramref name="buffer"/> when it fits and needs no unescaping.</summary>
    private static ReadOnlySpan<char> Text(JsonElement value, Span<char> buffer)
    {
        var raw = JsonMarshal.GetRawUtf8Value(value)[1..^1];
        return raw.IndexOf((byte)'\\') < 0 && Encoding.UTF8.TryGetChars(raw, buffer, out int written) ? buffer[..written] : value.GetString();
    }

    /// <summary>
    /// The added tokens. tokenizers gives one found in the vocabulary that id and numbers the others from the
    /// vocabulary size on, in file order, whatever the file says; a file whose ids disagree is refused.
    /// </summary>
    private static List<AddedToken> ReadAddedTokens(JsonElement root, Dictionary<string, int> vocabulary, string path)
    {
        var tokens = new List<AddedToken>();
        var byContent = new Dictionary<string, AddedToken>(StringComparer.Ordinal);
        switch (root.Optional("added_tokens"))
        {
            case null: return tokens;
            case { ValueKind: JsonValueKind.Array } list:
                int next = vocabulary.Count;
                foreach (var entry in list.EnumerateArray())
                {
                    string where = $"added_tokens[{tokens.Count}]";
                    if (entry.ValueKind != JsonValueKind.Object) throw new ModelLoadException(path, $"{where} is not an object.");
                    string content = entry.OptionalString("content", path) is { Length: > 0 } c ? c
                        : throw new ModelLoadException(path, $"{where} has no 'content'.");
                    int id = entry.Optional("id") is { ValueKind: JsonValueKind.Number } idValue && idValue.TryGetInt32(out int i) && i >= 0 ? i
                        : throw new ModelLoadException(path, $"{where} ('{content}') has no non-negative integer 'id'.");
                    int expected = byContent.TryGetValue(content, out var earlier) ? earlier.Id
                        : vocabulary.TryGetValue(content, out int vocabId) ? vocabId : next++;
                    if (id != expected)
                        throw new ModelLoadException(path, $"{where} ('{content}') has id {id}, but tokenizers gives it id {expected} "
                            + "(the vocabulary's id for a string it holds, else the next id after the vocabulary and earlier added tokens).");
                    bool special = entry.OptionalBool("special", path) ?? false;
                    var token = new AddedToken(id, content, special, entry.OptionalBool("single_word", path) ?? false,
                        entry.OptionalBool("lstrip", path) ?? false, entry.OptionalBool("rstrip", path) ?? false,
                        entry.OptionalBool("normalized", path) ?? !special);
                    if (earlier is not null) tokens.Remove(earlier);
                    tokens.Add(token);
                    byContent[content] = token;
                }
                return tokens;
            default: throw new ModelLoadException(path, "'added_tokens' is not a list.");
        }
    }

    /// <summary>Whether the normalizer is NFC (true) or absent (false); any other is refused.</summary>
    private static bool ReadNormalizer(JsonElement? normalizer, string path)
    {
        if (normalizer is not { } n) return false;
        switch (TypeOf(n, "normalizer", path))
        {
            case "NFC": return true;
            case "Sequence" when n.Optional("normalizers") is { ValueKind: JsonValueKind.Array } steps:
                bool nfc = false;
                foreach (var step in steps.EnumerateArray()) nfc |= ReadNormalizer(step, path);
                return nfc;
            case var other: throw new ModelLoadException(path, $"normalizer type '{other}' is not supported (supported: NFC, or a Sequence of NFC).");
        }
    }

    private static ByteLevelPreTokenizer ReadPreTokenizer(JsonElement? preTokenizer, string path)
    {
        if (preTokenizer is not { } p)
            throw new ModelLoadException(path, "pre_tokenizer is missing; a byte-level BPE needs a ByteLevel pre-tokenizer.");
        var steps = TypeOf(p, "pre_tokenizer", path) == "Sequence"
            ? p.Optional("pretokenizers") is { ValueKind: JsonValueKind.Array } list ? list.EnumerateArray().ToList()
                : throw new ModelLoadException(path, "pre_tokenizer Sequence has no 'pretokenizers' list.")
            : [p];
        var splits = new List<RegexSplitter>();
        for (int i = 0; i < steps.Count; i++)
        {
            switch (TypeOf(steps[i], "pre_tokenizer", path))
            {
                case "Split":
                    splits.Add(ReadSplit(steps[i], path));
                    break;
                case "ByteLevel" when i == steps.Count - 1:
                    bool useRegex = steps[i].OptionalBool("use_regex", path) ?? true;
                    return new ByteLevelPreTokenizer(splits, steps[i].OptionalBool("add_prefix_space", path) ?? true,
                        useRegex ? new RegexSplitter(Compile(ByteLevelPreTokenizer.Gpt2Pattern, path), SplitBehavior.Isolated, false) : null);
                case "ByteLevel":
                    throw new ModelLoadException(path, "pre_tokenizer steps after ByteLevel are not supported.");
                case var other:
                    throw new ModelLoadException(path, $"pre_tokenizer type '{other}' is not supported (supported: Sequence, Split, ByteLevel).");
            }
        }
        throw new ModelLoadException(path, "pre_tokenizer has no ByteLevel step; only byte-level BPE tokenizers are supported.");
    }

    private static RegexSplitter ReadSplit(JsonElement split, string path)
    {
        string pattern = split.Optional("pattern") switch
        {
            { ValueKind: JsonValueKind.Object } o when o.OptionalString("Regex", path) is { } regex => regex,
            { ValueKind: JsonValueKind.Object } o when o.OptionalString("String", path) is { } literal => Regex.Escape(literal),
            _ => throw new ModelLoadException(path, "pre_tokenizer Split has no pattern {\"Regex\": …} or {\"String\": …}."),
        };
        string behavior = split.OptionalString("behavior", path) ?? throw new ModelLoadException(path, "pre_tokenizer Split has no 'behavior'.");
        return new RegexSplitter(Compile(pattern, path),
            Enum.TryParse<SplitBehavior>(behavior, out var b) ? b : throw new ModelLoadException(path, $"pre_tokenizer Split behavior '{behavior}' is unknown."),
            split.OptionalBool("invert", path) ?? false);
    }

    private static Regex Compile(string pattern, string path)
    {
        try
        {
            return new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new ModelLoadException(path, $"pre_tokenizer pattern '{pattern}' is not a regular expression .NET can run ({e.Message}).", e);
        }
    }

    private static void CheckDecoder(JsonElement? decoder, string path)
    {
        if (decoder is not { } d) throw new ModelLoadException(path, "decoder is missing; a byte-level BPE needs the ByteLevel decoder.");
        switch (TypeOf(d, "decoder", path))
        {
            case "ByteLevel": return;
            case "Sequence" when d.Optional("decoders") is { ValueKind: JsonValueKind.Array } steps && steps.GetArrayLength() > 0:
                foreach (var step in steps.EnumerateArray()) CheckDecoder(step, path);
                return;
            case var other: throw new ModelLoadException(path, $"decoder type '{other}' is not supported (supported: ByteLevel).");
        }
    }

    /// <summary>
    /// transformers makes every named and extra special token of tokenizer_config.json a special added token: one
    /// already added becomes special, a new one takes its vocabulary id or the next free id.
    /// </summary>
    private static List<AddedToken> AddConfigSpecialTokens(List<AddedToken> tokens, Dictionary<string, int> vocabulary, TokenizerConfig config)
    {
        var result = new List<AddedToken>(tokens);
        int next = Math.Max(vocabulary.Count, tokens.Count == 0 ? 0 : tokens.Max(t => t.Id) + 1);
        foreach (var named in config.NamedTokens.Values.Concat(config.ExtraSpecialTokens))
        {
            int at = result.FindIndex(t => t.Content == named.Content);
            if (at >= 0)
            {
                result[at] = result[at] with { Special = true };
                continue;
            }
            int id = vocabulary.TryGetValue(named.Content, out int vocabId) ? vocabId : next++;
            result.Add(new AddedToken(id, named.Content, true, named.SingleWord, named.LStrip, named.RStrip, named.Normalized));
        }
        return result;
    }

    /// <summary>
    /// The ids a prompt gets before and after its text. As in transformers 5, a tokenizer_config.json that sets
    /// <c>add_bos_token</c> or <c>add_eos_token</c> (or a file without post-processor) gets BOS/EOS by those flags;
    /// otherwise the post-processor's TemplateProcessing decides.
    /// </summary>
    private static (int[] Prefix, int[] Suffix) PromptTokens(JsonElement? postProcessor, TokenizerConfig config,
        List<AddedToken> addedTokens, Dictionary<string, int> vocabulary, string path)
    {
        if (config.AddBosToken is not null || config.AddEosToken is not null || postProcessor is null)
        {
            int[] Named(string field, bool add) =>
                add && config.NamedTokens.TryGetValue(field, out var token) ? [addedTokens.First(t => t.Content == token.Content).Id] : [];
            return (Named("bos_token", config.AddBosToken == true), Named("eos_token", config.AddEosToken == true));
        }
        var prefix = new List<int>();
        var suffix = new List<int>();
        ReadPostProcessor(postProcessor.Value, prefix, suffix, path);
        var defined = vocabulary.Values.Concat(addedTokens.Select(t => t.Id)).ToHashSet();
        foreach (int id in prefix.Concat(suffix))
            if (!defined.Contains(id)) throw new ModelLoadException(path, $"post_processor adds id {id}, which the tokenizer does not define.");
        return ([.. prefix], [.. suffix]);
    }

    private static void ReadPostProcessor(JsonElement processor, List<int> prefix, List<int> suffix, string path)
    {
        switch (TypeOf(processor, "post_processor", path))
        {
            case "ByteLevel": return;
            case "Sequence" when processor.Optional("processors") is { ValueKind: JsonValueKind.Array } steps:
                foreach (var step in steps.EnumerateArray()) ReadPostProcessor(step, prefix, suffix, path);
                return;
            case "TemplateProcessing":
                ReadTemplate(processor, prefix, suffix, path);
                return;
            case var other: throw new ModelLoadException(path, $"post_processor type '{other}' is not supported (supported: TemplateProcessing, ByteLevel, Sequence).");
        }
    }

    /// <summary>The <c>single</c> template: special tokens before and after <c>$A</c> (a later template wraps an earlier one).</summary>
    private static void ReadTemplate(JsonElement template, List<int> prefix, List<int> suffix, string path)
    {
        if (template.Optional("single") is not { ValueKind: JsonValueKind.Array } single)
            throw new ModelLoadException(path, "post_processor TemplateProcessing has no 'single' template.");
        var before = new List<int>();
        var after = new List<int>();
        bool seenSequence = false;
        foreach (var piece in single.EnumerateArray())
        {
            if (piece.Optional("Sequence") is { } sequence)
            {
                if (sequence.OptionalString("id", path) != "A" || seenSequence)
                    throw new ModelLoadException(path, "post_processor TemplateProcessing 'single' must hold sequence A once.");
                seenSequence = true;
            }
            else if (piece.Optional("SpecialToken")?.OptionalString("id", path) is { } name)
            {
                if (template.Optional("special_tokens")?.Optional(name)?.Optional("ids") is not { ValueKind: JsonValueKind.Array } ids
                    || ids.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.Number || !i.TryGetInt32(out int v) || v < 0))
                    throw new ModelLoadException(path, $"post_processor TemplateProcessing special token '{name}' has no ids.");
                (seenSequence ? after : before).AddRange(ids.EnumerateArray().Select(i => i.GetInt32()));
            }
            else throw new ModelLoadException(path, "post_processor TemplateProcessing 'single' holds a piece that is neither Sequence nor SpecialToken.");
        }
        if (!seenSequence) throw new ModelLoadException(path, "post_processor TemplateProcessing 'single' does not hold sequence A.");
        prefix.InsertRange(0, before);
        suffix.AddRange(after);
    }

    private static string TypeOf(JsonElement element, string what, string path) =>
        element.ValueKind == JsonValueKind.Object && element.OptionalString("type", path) is { } type ? type
            : throw new ModelLoadException(path, $"{what} has no 'type'.");
}
