using BenchmarkDotNet.Attributes;
using TimeBill.Core.Cache;
using TimeBill.Core.Model;

namespace TimeBill.Benchmarks.Model;

/// <summary>
/// Prefill of a prompt (libtorch, float32, 2 threads) for the real stories260K and the SmolLM2-135M shape.
/// Decode steps are measured per decode path in <see cref="DecodePathBenchmarks"/>.
/// </summary>
[MemoryDiagnoser]
public class PrefillBenchmarks
{
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
        ModelBenchmarkSubjects.UseTwoTorchThreads();
        _model = ModelBenchmarkSubjects.Open(Model);
        var random = new Random(0);
        int tokens = Math.Min(PromptTokens, _model.Config.MaxPositions - 1);
        _prompt = Enumerable.Range(0, tokens).Select(_ => random.Next(_model.Config.VocabSize)).ToArray();
        _cache = _model.CreateCache(tokens);
    }

    /// <summary>Empties the cache.</summary>
    [IterationSetup]
    public void ResetCache() => _cache.Reset();

    /// <summary>The prompt's forward pass (last position's logits).</summary>
    [Benchmark]
    public float[] Prefill() => _model.ForwardLast(_prompt, _cache);

    /// <summary>Frees the model.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _cache.Dispose();
        _model.Dispose();
    }
}
