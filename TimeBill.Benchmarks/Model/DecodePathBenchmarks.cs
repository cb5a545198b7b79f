using BenchmarkDotNet.Attributes;
using TimeBill.Core.Cache;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;

namespace TimeBill.Benchmarks.Model;

/// <summary>
/// One decode step on libtorch's eager operators (the reference) vs the decode kernels (float32 and bfloat16 weights),
/// 2 threads, for the real stories260K and the SmolLM2-135M shape, at KV length ≈ the prompt length. Steps are timed
/// 32 at a time after a fresh prefill (OperationsPerInvoke).
/// </summary>
[MemoryDiagnoser]
public class DecodePathBenchmarks
{
    private const int Steps = 32;
    private CausalLanguageModel _model = null!;
    private GenerationEngine _engine = null!;
    private KvCache _cache = null!;
    private float[] _logits = [];
    private int[] _prompt = [];

    /// <summary>Which model.</summary>
    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "stories260K";

    /// <summary>Decode steps: <c>torch</c>, <c>kernels</c> or <c>kernels-bf16</c>.</summary>
    [Params("torch", "kernels", "kernels-bf16")]
    public string Path { get; set; } = "torch";

    /// <summary>Prompt length.</summary>
    [Params(512)]
    public int PromptTokens { get; set; }

    /// <summary>The models to run.</summary>
    public static IEnumerable<string> Models => ModelBenchmarkSubjects.Names;

    /// <summary>Loads the model, builds the engine's kernels and makes a seeded random prompt.</summary>
    [GlobalSetup]
    public void Setup()
    {
        ModelBenchmarkSubjects.UseTwoTorchThreads();
        _model = ModelBenchmarkSubjects.Open(Model);
        _engine = new GenerationEngine(_model, new EngineOptions { BFloat16Weights = Path == "kernels-bf16" });
        _logits = new float[_model.Config.VocabSize];
        var random = new Random(0);
        int tokens = Math.Min(PromptTokens, _model.Config.MaxPositions - Steps);
        _prompt = Enumerable.Range(0, tokens).Select(_ => random.Next(_model.Config.VocabSize)).ToArray();
        _cache = _model.CreateCache(tokens + Steps);
    }

    /// <summary>Empties the cache and prefills the prompt, untimed.</summary>
    [IterationSetup]
    public void Prefilled()
    {
        _cache.Reset();
        _engine.Prefill(_prompt, _cache, _logits);
    }

    /// <summary>One decode step.</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public float DecodeStep()
    {
        if (Path == "torch")
        {
            float[] logits = [];
            for (int i = 0; i < Steps; i++) logits = _model.ForwardLast([i + 3], _cache);
            return logits[0];
        }
        for (int i = 0; i < Steps; i++) _engine.Decoder.Step(i + 3, _cache, _logits);
        return _logits[0];
    }

    /// <summary>Frees the engine and the model.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _cache.Dispose();
        _engine.Dispose();
        _model.Dispose();
    }
}
