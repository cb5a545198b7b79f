using BenchmarkDotNet.Attributes;
using TimeBill.Benchmarks.Model;
using TimeBill.Core.Tokenization;

namespace TimeBill.Benchmarks.Tokenization;

/// <summary>
/// Encoding 1 MB of mixed text (<see cref="MixedText"/>) with the SentencePiece path (llama2-tokenizer, through
/// Microsoft.ML.Tokenizers) and the tokenizer.json byte-level BPE paths (Qwen3, Llama 3.1). One invocation encodes
/// the whole megabyte, so the mean is the time per MB (MB/s = 1 s / mean). The byte-level tokenizers keep a bounded
/// cache of pre-tokens: <see cref="EncodeOneMegabyte"/> measures it warm (a long-running server that has seen this
/// text), <see cref="EncodeOneMegabyteFreshTokenizer"/> with a tokenizer loaded just before (every pre-token new once).
/// </summary>
[MemoryDiagnoser]
public class TokenizerEncodeBenchmarks
{
    private const int Megabyte = 1_000_000;
    private TextTokenizer _tokenizer = null!, _fresh = null!;
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
    [Benchmark(Baseline = true)]
    public int EncodeOneMegabyte() => _tokenizer.Encode(_text).Length;

    /// <summary>A tokenizer with an empty pre-token cache for each encoding (loading is not timed).</summary>
    [IterationSetup(Target = nameof(EncodeOneMegabyteFreshTokenizer))]
    public void LoadFreshTokenizer() =>
        _fresh = TextTokenizer.Load(Path.Combine(ModelBenchmarkSubjects.FindShared(), "models", Tokenizer));

    /// <summary>Encodes the megabyte with the fresh tokenizer.</summary>
    [Benchmark]
    public int EncodeOneMegabyteFreshTokenizer() => _fresh.Encode(_text).Length;
}
