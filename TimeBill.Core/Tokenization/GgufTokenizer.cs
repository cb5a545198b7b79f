using Microsoft.ML.Tokenizers;
using TimeBill.Core.ChatTemplates;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Checkpoints.Gguf;

namespace TimeBill.Core.Tokenization;

/// <summary>
/// The tokenizer a GGUF file carries in <c>tokenizer.ggml.*</c>: a SentencePiece vocabulary (<c>llama</c>: tokens,
/// scores, types), rebuilt as the tokenizer.model it came from, or a byte-level BPE (<c>gpt2</c>: tokens, merges, the
/// <c>pre</c> type naming the pre-tokenizer); and <c>tokenizer.chat_template</c>.
/// </summary>
internal static class GgufTokenizer
{
    /// <summary>Reads the tokenizer of <paramref name="file"/>.</summary>
    /// <exception cref="ModelLoadException">No vocabulary, an unsupported tokenizer model, or inconsistent arrays, naming the key.</exception>
    public static TextTokenizer Load(GgufFile file)
    {
        string model = file.String("tokenizer.ggml.model")
            ?? throw new ModelLoadException(file.Path, "metadata 'tokenizer.ggml.model' is missing: the file carries no tokenizer.");
        if (model == "no_vocab") throw new ModelLoadException(file.Path, "the file carries no tokenizer (tokenizer.ggml.model is 'no_vocab').");
        string[] tokens = file.Array<string>("tokenizer.ggml.tokens") ?? throw new ModelLoadException(file.Path, "metadata 'tokenizer.ggml.tokens' is missing.");
        int[] types = file.Int32Array("tokenizer.ggml.token_type", 1, 6) ?? Enumerable.Repeat(1, tokens.Length).ToArray();
        if (types.Length != tokens.Length)
            throw new ModelLoadException(file.Path, $"tokenizer.ggml.token_type has {types.Length} entries but tokenizer.ggml.tokens has {tokens.Length}.");
        var tokenizer = model switch
        {
            "llama" => SentencePiece(file, tokens, types),
            "gpt2" => GgufByteLevelBpe.Load(file, tokens, types),
            _ => throw new ModelLoadException(file.Path, $"tokenizer.ggml.model '{model}' is not supported; supported: llama (SentencePiece), gpt2 (byte-level BPE)."),
        };
        return file.String("tokenizer.chat_template") is { } template
            ? tokenizer.WithChatTemplate(new ChatTemplate(template, tokenizer.SpecialTokensMap, $"{file.Path}: tokenizer.chat_template"))
            : tokenizer;
    }

    private static TextTokenizer SentencePiece(GgufFile file, string[] tokens, int[] types)
    {
        float[] scores = file.Array<float>("tokenizer.ggml.scores") ?? new float[tokens.Length];
        if (scores.Length != tokens.Length)
            throw new ModelLoadException(file.Path, $"tokenizer.ggml.scores has {scores.Length} entries but tokenizer.ggml.tokens has {tokens.Length}.");
        int last = tokens.Length - 1;
        var proto = new SentencePieceModelProto(
            tokens.Select((t, i) => new SentencePiece(t, scores[i], types[i])).ToArray(),
            SentencePieceModelProto.Bpe,
            ByteFallback: types.Contains(6),
            UnknownId: file.Int32("tokenizer.ggml.unknown_token_id", 0, last) ?? 0,
            BosId: file.Int32("tokenizer.ggml.bos_token_id", 0, last) ?? 1,
            EosId: file.Int32("tokenizer.ggml.eos_token_id", 0, last) ?? 2,
            PadId: file.Int32("tokenizer.ggml.padding_token_id", 0, last) ?? -1,
            AddDummyPrefix: file.Bool("tokenizer.ggml.add_space_prefix") ?? true);
        bool addBos = file.Bool("tokenizer.ggml.add_bos_token") ?? true;
        try
        {
            using var stream = new MemoryStream(proto.ToBytes());
            var tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
            return new TextTokenizer(tokenizer, addBos ? proto.BosId : null);
        }
        catch (Exception e) when (e is not ModelLoadException)
        {
            throw new ModelLoadException(file.Path, $"the SentencePiece vocabulary in tokenizer.ggml.* cannot be used ({e.Message}).", e);
        }
    }
}
