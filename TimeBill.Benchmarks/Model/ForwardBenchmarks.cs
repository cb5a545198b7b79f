using BenchmarkDotNet.Attributes;
using TimeBill.Core.Cache;
using TimeBill.Core.Model;

namespace TimeBill.Benchmarks.Model;

/// <summary>
/// Prefill of a prompt and one decode step after it, float32 on 2 threads, for the real stories260K and the
/// SmolLM2-135M shape. Decode steps are timed 32 at a time after a fresh prefill (OperationsPerInvoke).
/// </summary>
[MemoryDiagnoser]
public class ForwardBenchmarks
{
    private const int Steps = 32;
    private CausalLanguageModel _model = null!;
    private KvCache _cache = null!;
    private int[] _prompt = [];

    /// <summary>Which model.</summary>
    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "stories260K";

    /// <summary>Prompt length.</summary>
    [Params(128, 512)]
    public int PromptTokens { get; set; }

    /// <summary>The models to run.</summary>
    public static IEnumerable<string> Models => ModelBenchmarkSubjects.Names;

    /// <summary>Loads the model and a seeded random prompt.</summary>
    [GlobalSetup]
    public void Setup()
    {
        TorchSharp.torch.set_num_threads(2);
        _model = ModelBenchmarkSubjects.Open(Model);
        var random = new Random(0);
        int tokens = Math.Min(PromptTokens, _model.Config.MaxPositions - Steps);
        _prompt = Enumerable.Range(0, tokens).Select(_ => random.Next(_model.Config.VocabSize)).ToArray();
        _cache = _model.CreateCache(tokens + Steps);
    }

    /// <summary>Empties the cache.</summary>
    [IterationSetup(Target = nameof(Prefill))]
    public void ResetCache() => _cache.Reset();

    /// <summary>Empties the cache and prefills the prompt, untimed.</summary>
    [IterationSetup(Target = nameof(DecodeStep))]
    public void Prefilled()
    {
        _cache.Reset();
        _model.ForwardLast(_prompt, _cache);
    }

    /// <summary>The prompt's forward pass (last position's logits).</summary>
    [Benchmark]
    public float[] Prefill() => _model.ForwardLast(_prompt, _cache);

    /// <summary>One decode step at KV length ≈ prompt length.</summary>
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
