using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using TimeBill.Core.Cache;
using TimeBill.Core.Decoding;
using TimeBill.Core.Eviction;
using TimeBill.Core.Model;

namespace TimeBill.Benchmarks.Eviction;

/// <summary>
/// Locates ../shared/model-shapes from the benchmark's folder (or $TIMEBILL_SHARED).
/// </summary>
internal static class Shapes
{
    public static string Path(string name)
    {
        string? shared = Environment.GetEnvironmentVariable("TIMEBILL_SHARED");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); shared is null && dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "TimeBill.sln")))
                shared = System.IO.Path.Combine(dir.FullName, "..", "shared");
        return System.IO.Path.Combine(shared ?? throw new DirectoryNotFoundException("set TIMEBILL_SHARED to the shared folder"), "model-shapes", name + ".json");
    }

    public static int[] RandomPrompt(int length, int vocab, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => random.Next(3, vocab)).ToArray();
    }
}

/// <summary>
/// One 2,048-token prefill of the SmolLM2-135M shape shared by every case (benchmarks run in-process), observed by
/// the captures of all policies at once.
/// </summary>
internal sealed class SharedPrefill
{
    public const int PromptLength = 2048;
    private static readonly Lazy<SharedPrefill> Instance = new(() => new SharedPrefill());
    public static SharedPrefill Get() => Instance.Value;

    public CausalLanguageModel Model { get; }
    public KvCache Cache { get; }
    public Dictionary<string, (EvictionPolicy Policy, EvictionCapture? Capture)> Policies { get; }

    private SharedPrefill()
    {
        Model = CausalLanguageModel.CreateRandom(ModelConfig.Load(Shapes.Path("smollm2-135m")), seed: 1);
        Cache = Model.CreateCache(PromptLength);
        Policies = EvictionPolicies.Names.ToDictionary(n => n, n =>
        {
            var policy = EvictionPolicies.Create(n);
            return (policy, policy.CreateCapture(Model.Config));
        });
        var captures = ForwardObservers.Combine(Policies.Values.Select(p => p.Capture).ToArray());
        Model.Forward(Shapes.RandomPrompt(PromptLength, Model.Config.VocabSize, 7), Cache, observer: captures).Dispose();
    }

    /// <summary>Fills <paramref name="target"/> with the prefilled prompt (same entries, same positions).</summary>
    public void CopyTo(KvCache target)
    {
        target.Reset();
        for (int layer = 0; layer < target.LayerCount; layer++)
            target.Append(layer, Cache.Keys(layer), Cache.Values(layer));
        target.Advance(PromptLength);
    }
}

/// <summary>In-process (no per-case rebuild), few fixed iterations: each case needs a 2,048-token prefill first.</summary>
internal sealed class EvictionBenchmarkConfig : ManualConfig
{
    public EvictionBenchmarkConfig()
    {
        AddJob(Job.Default.WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(40), logOutput: false))
            .WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(12).WithInvocationCount(4).WithUnrollFactor(1));
        WithOption(ConfigOptions.DisableOptimizationsValidator, true);
    }
}

/// <summary>
/// One decode step of the SmolLM2-135M shape (random weights) after a 2,048-token prompt was evicted with SnapKV to
/// a fraction α: how the step time falls with the kept KV length. Each iteration restores the prefilled prompt and
/// evicts it again (untimed), so its steps see ceil((1−α)·2048) prompt entries (+ at most 3 new ones), read where
/// eviction left them.
/// </summary>
[Config(typeof(EvictionBenchmarkConfig))]
public class DecodeStepAfterEvictionBenchmark
{
    private KernelDecoder _decoder = null!;
    private KvCache _cache = null!;
    private float[] _logits = [];

    /// <summary>Fraction of the prompt's entries evicted.</summary>
    [Params(0.0, 0.5, 0.9)] public double Alpha { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var model = SharedPrefill.Get().Model;
        _decoder = new KernelDecoder(model);
        _cache = model.CreateCache(SharedPrefill.PromptLength + 256);
        _logits = new float[model.Config.VocabSize];
    }

    /// <summary>A fresh eviction of the prefilled prompt before every step, untimed: the step reads the kept entries where eviction left them.</summary>
    [IterationSetup]
    public void Evict()
    {
        var shared = SharedPrefill.Get();
        shared.CopyTo(_cache);
        var (policy, capture) = shared.Policies["snapkv"];
        policy.Evict(_cache, Alpha, capture);
    }

    [Benchmark]
    public float DecodeStep()
    {
        _decoder.Step(42, _cache, _logits);
        return _logits[0];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cache.Dispose();
        _decoder.Dispose();
    }
}

/// <summary>
/// The cost of eviction itself at Nx = 2,048 on the SmolLM2-135M shape: scoring from the prefill's capture, top-k per
/// layer and KV head, and compaction, for each policy at α = 0.5 and 0.9, starting (as after a real prefill) with the
/// cache's entries out of the processor's caches. (The capture's own work happens inside prefill.)
/// </summary>
[Config(typeof(EvictionCostConfig))]
public class EvictionCostBenchmark
{
    private KvCache _cache = null!;
    private EvictionPolicy _policy = null!;
    private EvictionCapture? _capture;

    /// <summary>Policy name.</summary>
    [Params("snapkv", "pyramidkv", "h2o", "tova", "streamingllm", "knorm", "random")] public string Policy { get; set; } = "snapkv";

    /// <summary>Fraction evicted.</summary>
    [Params(0.5, 0.9)] public double Alpha { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var shared = SharedPrefill.Get();
        (_policy, _capture) = shared.Policies[Policy];
        _cache = shared.Model.CreateCache(SharedPrefill.PromptLength);
    }

    // Larger than the last-level cache: after a real prefill the cache's entries are in memory, not in the processor's
    // caches, so the restored copy is pushed out before each eviction.
    private readonly byte[] _evictor = new byte[128 << 20];

    [IterationSetup]
    public void Restore()
    {
        SharedPrefill.Get().CopyTo(_cache);
        for (int i = 0; i < _evictor.Length; i += 64) _evictor[i]++;
    }

    [Benchmark]
    public int Evict() => _policy.Evict(_cache, Alpha, _capture).After[0];

    [GlobalCleanup]
    public void Cleanup() => _cache.Dispose();
}

/// <summary>One eviction per iteration (it is destructive; the cache is restored between iterations).</summary>
internal sealed class EvictionCostConfig : ManualConfig
{
    public EvictionCostConfig()
    {
        AddJob(Job.Default.WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(40), logOutput: false))
            .WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(15).WithInvocationCount(1).WithUnrollFactor(1));
        WithOption(ConfigOptions.DisableOptimizationsValidator, true);
    }
}
