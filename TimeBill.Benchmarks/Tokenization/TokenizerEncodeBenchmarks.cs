using BenchmarkDotNet.Attributes;
using TimeBill.Benchmarks.Model;
using TimeBill.Core.Tokenization;

namespace TimeBill.Benchmarks.Tokenization;

/// <summary>
/// Encoding 1 MB of mixed text (<see cref="MixedText"/>) with the SentencePiece path (llama2-tokenizer, through
/// Microsoft.ML.Tokenizers) and the tokenizer.json byte-level BPE paths (Qwen3, Llama 3.1). One invocation encodes
/// the whole megabyte, so the mean is the time per MB (MB/s = 1 s / mean). The byte-level tokenizers' pre-token
/// cache is warm after the first invocation, as it is in a long-running server.
/// </summary>
[MemoryDiagnoser]
public class TokenizerEncodeBenchmarks
{
    private const int Megabyte = 1_000_000;
    private TextTokenizer _tokenizer = null!;
    private string _text = "";

    /// <summary>The model folder whose tokenizer encodes.</summary>
    [Params("llama2-tokenizer", "tiny-random-qwen3", "tiny-random-llama31")]
    public string Tokenizer { get; set; } = "llama2-tokenizer";

    /// <summary>Loads the tokenizer and builds the text.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _tokenizer = TextTokenizer.Load(Path.Combine(ModelBenchmarkSubjects.FindShared(), "models", Tokenizer));
        _text = MixedText.Build(Megabyte);
    }

    /// <summary>Encodes the megabyte.</summary>
    [Benchmark]
    public int EncodeOneMegabyte() => _tokenizer.Encode(_text).Length;
}
