using Microsoft.ML.Tokenizers;
using TimeBill.Core.ChatTemplates;
using TimeBill.Core.Checkpoints;

namespace TimeBill.Core.Tokenization;

/// <summary>
/// Text ↔ token ids for a model folder: SentencePiece <c>tokenizer.model</c> files through Microsoft.ML.Tokenizers'
/// <see cref="LlamaTokenizer"/>, Hugging Face <c>tokenizer.json</c> byte-level BPE files (Qwen2/Qwen3, Llama 3, GPT-2
/// style) through this namespace's own reader, matching transformers' results.
/// </summary>
public sealed class TextTokenizer
{
    private readonly ITokenizerBackend _backend;

    /// <summary>Wraps a Microsoft.ML.Tokenizers tokenizer; <paramref name="bosTokenId"/> is prepended by <see cref="EncodePrompt"/>.</summary>
    public TextTokenizer(Tokenizer tokenizer, int? bosTokenId)
        : this(new MlTokenizerBackend(tokenizer ?? throw new ArgumentNullException(nameof(tokenizer)), bosTokenId), bosTokenId,
            SentencePieceTokenMap(tokenizer))
    {
    }

    private TextTokenizer(ITokenizerBackend backend, int? bosTokenId, IReadOnlyDictionary<string, string> specialTokensMap)
    {
        _backend = backend;
        BosTokenId = bosTokenId;
        SpecialTokensMap = specialTokensMap;
        BosToken = specialTokensMap.GetValueOrDefault("bos_token");
        EosToken = specialTokensMap.GetValueOrDefault("eos_token");
        EosTokenId = EosToken is null ? null : backend.TokenToId(EosToken);
    }

    /// <summary>
    /// The chat template that came with the tokenizer (<c>chat_template</c> of tokenizer_config.json, or
    /// chat_template.jinja), as transformers keeps it on the tokenizer; null when there is none.
    /// </summary>
    public ChatTemplate? ChatTemplate { get; private init; }

    /// <summary>The beginning-of-sequence id prompts start with, if any (tokenizer.json: the id of <see cref="BosToken"/>).</summary>
    public int? BosTokenId { get; }

    /// <summary>The beginning-of-sequence token (tokenizer_config.json <c>bos_token</c>), if any.</summary>
    public string? BosToken { get; }

    /// <summary>The end-of-sequence token (tokenizer_config.json <c>eos_token</c>, e.g. Qwen3's <c>&lt;|im_end|&gt;</c>), if any.</summary>
    public string? EosToken { get; }

    /// <summary>The id of <see cref="EosToken"/>, if any. Models may stop on more ids (generation_config.json).</summary>
    public int? EosTokenId { get; }

    /// <summary>How many ids the tokenizer defines, added tokens included (Qwen3: 151669, fewer than its 151936 embedding rows).</summary>
    public int VocabularySize => _backend.VocabularySize;

    /// <summary>Every special token (skipped by <see cref="Decode"/> by default) and its id.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _backend.SpecialTokens;

    /// <summary>
    /// The named special tokens that are set (transformers' <c>special_tokens_map</c>: <c>bos_token</c>,
    /// <c>eos_token</c>, <c>unk_token</c>, <c>pad_token</c>, …), as chat templates receive them.
    /// </summary>
    public IReadOnlyDictionary<string, string> SpecialTokensMap { get; }

    /// <summary>Reads the tokenizer of a model folder, a <c>tokenizer.model</c> / <c>tokenizer.json</c> file path, or a GGUF file's.</summary>
    /// <remarks>A folder with both files is read as SentencePiece: there, tokenizer.json is usually a conversion of the model.</remarks>
    /// <param name="folderOrFile">The model folder or the tokenizer file.</param>
    /// <param name="bosTokenId">
    /// The BOS a SentencePiece model's prompts start with (default: the model's own). tokenizer.json tokenizers take
    /// what prompts get from their files (post-processor, tokenizer_config.json <c>add_bos_token</c>) and ignore it.
    /// </param>
    /// <exception cref="ModelLoadException">No tokenizer file, an unsupported format, or a corrupt file.</exception>
    public static TextTokenizer Load(string folderOrFile, int? bosTokenId = null)
    {
        string folder = Directory.Exists(folderOrFile) ? folderOrFile : Path.GetDirectoryName(Path.GetFullPath(folderOrFile))!;
        string model = Path.Combine(folder, "tokenizer.model"), json = Path.Combine(folder, "tokenizer.json");
        string path = Directory.Exists(folderOrFile) ? File.Exists(model) || !File.Exists(json) ? model : json : folderOrFile;
        if (!File.Exists(path)) throw new ModelLoadException(path, "file not found (a folder needs tokenizer.model or tokenizer.json).");
        if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            using var gguf = Checkpoints.Gguf.GgufFile.Open(path);
            return GgufTokenizer.Load(gguf);
        }
        var tokenizer = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? LoadTokenizerJson(path) : LoadSentencePiece(path, bosTokenId);
        return tokenizer.ChatTemplate is null && ChatTemplate.LoadIfPresent(folder) is { } template ? tokenizer.WithChatTemplate(template) : tokenizer;
    }

    /// <summary>This tokenizer with <paramref name="template"/> as its <see cref="ChatTemplate"/> (e.g. a GGUF file's own).</summary>
    public TextTokenizer WithChatTemplate(ChatTemplate? template) =>
        new(_backend, BosTokenId, SpecialTokensMap) { ChatTemplate = template };

    private static TextTokenizer LoadSentencePiece(string path, int? bosTokenId)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
            return new TextTokenizer(tokenizer, bosTokenId ?? tokenizer.BeginningOfSentenceId);
        }
        catch (Exception e) when (e is not ModelLoadException)
        {
            // Protobuf's parse errors derive from IOException: a corrupt file, as much as an unreadable one.
            throw new ModelLoadException(path, $"not a readable SentencePiece model ({e.Message}).", e);
        }
    }

    private static TextTokenizer LoadTokenizerJson(string path)
    {
        string configPath = Path.Combine(Path.GetDirectoryName(path)!, "tokenizer_config.json");
        var config = File.Exists(configPath) ? TokenizerConfig.Load(configPath) : TokenizerConfig.Empty;
        return FromByteLevelBpe(TokenizerJson.Load(path, config), config);
    }

    /// <summary>A byte-level BPE tokenizer with the named tokens of <paramref name="config"/>.</summary>
    internal static TextTokenizer FromByteLevelBpe(ByteLevelBpeTokenizer backend, TokenizerConfig config)
    {
        var map = config.NamedTokens.ToDictionary(p => p.Key, p => p.Value.Content);
        return new TextTokenizer(backend, map.TryGetValue("bos_token", out string? bos) ? backend.TokenToId(bos) : null, map);
    }

    private static Dictionary<string, string> SentencePieceTokenMap(Tokenizer tokenizer) => tokenizer is SentencePieceTokenizer s
        ? new() { ["bos_token"] = s.BeginningOfSentenceToken, ["eos_token"] = s.EndOfSentenceToken, ["unk_token"] = s.UnknownToken }
        : [];

    /// <summary>
    /// Token ids of <paramref name="text"/> without the tokens a prompt gets (transformers'
    /// <c>add_special_tokens=False</c>); special-token strings in the text still become their single ids.
    /// </summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _backend.Encode(text, addSpecialTokens: false);
    }

    /// <summary>
    /// Token ids of a prompt (transformers' <c>add_special_tokens=True</c>): SentencePiece and Llama 3 put BOS first,
    /// even before a text that starts with it; Qwen3 adds nothing.
    /// </summary>
    public int[] EncodePrompt(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _backend.Encode(text, addSpecialTokens: true);
    }

    /// <summary>Text of <paramref name="ids"/>; <paramref name="skipSpecialTokens"/> drops special tokens (Qwen3's non-special added tokens such as <c>&lt;think&gt;</c> stay).</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return _backend.Decode(ids, skipSpecialTokens);
    }

    /// <summary>The vocabulary string of <paramref name="id"/> (byte-level BPE: in the byte-level alphabet, <c>Ġ</c> for a space), or null.</summary>
    public string? IdToToken(int id) => _backend.IdToToken(id);

    /// <summary>The id of a vocabulary string or special token (such as <c>&lt;|im_end|&gt;</c>), or null.</summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _backend.TokenToId(token);
    }

    /// <summary>Whether vocabulary strings are in the byte-level alphabet (tokenizer.json byte-level BPE).</summary>
    internal bool IsByteLevel => _backend is ByteLevelBpeTokenizer;

    /// <summary>Whether vocabulary strings are SentencePiece pieces (<c>▁</c> for a space, <c>&lt;0xNN&gt;</c> byte tokens).</summary>
    internal bool IsSentencePiece => _backend is MlTokenizerBackend { IsSentencePiece: true };

    /// <summary>A decoder for ids arriving one at a time.</summary>
    public StreamingDetokenizer CreateStreamingDecoder() => new(this);
}
