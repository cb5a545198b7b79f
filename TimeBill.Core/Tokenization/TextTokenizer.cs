using Microsoft.ML.Tokenizers;
using TimeBill.Core.Checkpoints;

namespace TimeBill.Core.Tokenization;

/// <summary>
/// Text ↔ token ids for a model folder, over Microsoft.ML.Tokenizers. SentencePiece <c>tokenizer.model</c>
/// files are read now; the wrapper holds the library's abstract <see cref="Tokenizer"/>, so a
/// <c>tokenizer.json</c> (byte-level BPE) reader slots into <see cref="Load"/> without changing callers.
/// </summary>
public sealed class TextTokenizer
{
    private readonly Tokenizer _tokenizer;

    /// <summary>Wraps a Microsoft.ML.Tokenizers tokenizer; <paramref name="bosTokenId"/> is prepended by <see cref="EncodePrompt"/>.</summary>
    public TextTokenizer(Tokenizer tokenizer, int? bosTokenId)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        BosTokenId = bosTokenId;
    }

    /// <summary>The beginning-of-sequence id prompts start with, if any.</summary>
    public int? BosTokenId { get; }

    /// <summary>Reads the tokenizer of a model folder (or a <c>tokenizer.model</c> file path).</summary>
    /// <exception cref="ModelLoadException">No tokenizer file, an unsupported format, or a corrupt file.</exception>
    public static TextTokenizer Load(string folderOrFile, int? bosTokenId = null)
    {
        string path = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, "tokenizer.model") : folderOrFile;
        if (!File.Exists(path))
        {
            string json = Path.Combine(Path.GetDirectoryName(path) ?? ".", "tokenizer.json");
            throw File.Exists(json)
                ? new ModelLoadException(json, "tokenizer.json (byte-level BPE) tokenizers are not supported yet; a SentencePiece tokenizer.model is needed.")
                : new ModelLoadException(path, "file not found.");
        }
        try
        {
            using var stream = File.OpenRead(path);
            var tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
            return new TextTokenizer(tokenizer, bosTokenId ?? tokenizer.BeginningOfSentenceId);
        }
        catch (Exception e) when (e is not ModelLoadException and not IOException)
        {
            throw new ModelLoadException(path, $"not a readable SentencePiece model ({e.Message}).", e);
        }
    }

    /// <summary>Token ids of <paramref name="text"/>, without BOS/EOS.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [.. _tokenizer.EncodeToIds(text)];
    }

    /// <summary>Token ids of a prompt: BOS (when the model has one) followed by <see cref="Encode"/>.</summary>
    public int[] EncodePrompt(string text) => BosTokenId is int bos ? [bos, .. Encode(text)] : Encode(text);

    /// <summary>Text of <paramref name="ids"/>; special tokens are dropped.</summary>
    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids) ?? "";

    /// <summary>A decoder for ids arriving one at a time.</summary>
    public StreamingDetokenizer CreateStreamingDecoder() => new(this);
}
