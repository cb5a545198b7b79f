using BenchmarkDotNet.Attributes;
using TimeBill.Core.Cache;
using TimeBill.Core.Decoding;
using TimeBill.Core.Model;

namespace TimeBill.Benchmarks.Model;

/// <summary>
/// One decode step on the TorchSharp path vs the kernel path (float32 and bfloat16 weights), 2 threads, for the
/// real stories260K and the SmolLM2-135M shape, at KV length ≈ the prompt length. Steps are timed 32 at a time
/// after a fresh libtorch prefill (OperationsPerInvoke).
/// </summary>
[MemoryDiagnoser]
public class DecodePathBenchmarks
{
    private const int Steps = 32;
    private CausalLanguageModel _model = null!;
    private KvCache _cache = null!;
    private int[] _prompt = [];

    /// <summary>Which model.</summary>
    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "stories260K";

    /// <summary>Decode path: <c>torch</c>, <c>kernels</c> or <c>kernels-bf16</c>.</summary>
    [Params("torch", "kernels", "kernels-bf16")]
    public string Path { get; set; } = "torch";

    /// <summary>Prompt length.</summary>
    [Params(512)]
    public int PromptTokens { get; set; }

    /// <summary>The models to run.</summary>
    public static IEnumerable<string> Models => ModelBenchmarkSubjects.Names;

    /// <summary>Loads the model, selects the path and makes a seeded random prompt.</summary>
    [GlobalSetup]
    public void Setup()
    {
        TorchSharp.torch.set_num_threads(2);
        _model = ModelBenchmarkSubjects.Open(Model);
        _model.UseDecodePath(Path == "torch" ? DecodePath.Torch : DecodePath.Kernels, bfloat16Weights: Path == "kernels-bf16");
        _ = _model.ActiveDecodePath; // copies the weights for the kernel path now, not in the first timed step
        var random = new Random(0);
        int tokens = Math.Min(PromptTokens, _model.Config.MaxPositions - Steps);
        _prompt = Enumerable.Range(0, tokens).Select(_ => random.Next(_model.Config.VocabSize)).ToArray();
        _cache = _model.CreateCache(tokens + Steps);
    }

    /// <summary>Empties the cache and prefills the prompt on libtorch, untimed.</summary>
    [IterationSetup]
    public void Prefilled()
    {
        _cache.Reset();
        _model.ForwardLast(_prompt, _cache);
    }

    /// <summary>One decode step.</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public float[] DecodeStep()
    {
        float[] logits = [];
        for (int i = 0; i < Steps; i++) logits = _model.ForwardLast([i + 3], _cache);
        return logits;
    }

    /// <summary>Frees the model.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _cache.Dispose();
        _model.Dispose();
    }
}
