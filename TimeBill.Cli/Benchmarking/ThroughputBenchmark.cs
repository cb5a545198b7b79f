using System.Diagnostics;
using TimeBill.Core.Cache;
using TimeBill.Core.Eviction;
using TimeBill.Core.Generation;

namespace TimeBill.Cli.Benchmarking;

/// <summary>Prefill and decode throughput of a model: warm-up, then timed runs, medians reported.</summary>
internal static class ThroughputBenchmark
{
    /// <summary>Measured throughput.</summary>
    public sealed record Result(int PromptTokens, int GenTokens, int Runs, double PrefillTokensPerS, double DecodeTokensPerS, double PrefillMs, double DecodeMsPerToken)
    {
        /// <summary>Median time of <see cref="EvictionPolicy.Evict"/> (scoring + compaction) after prefill; 0 without eviction.</summary>
        public double EvictMs { get; init; }
        /// <summary>Prompt entries each layer's KV heads kept after eviction (layer 0).</summary>
        public int KeptEntries { get; init; }
        /// <summary>Leading prompt tokens restored from the prefix cache in the warm prefills; 0: none measured.</summary>
        public int CachedTokens { get; init; }
        /// <summary>Median warm prefill (restore <see cref="CachedTokens"/>, prefill the rest), timed beside each cold one.</summary>
        public double WarmPrefillMs { get; init; }
    }

    /// <summary>
    /// Runs <paramref name="runs"/> timed repetitions (after one warm-up) of: prefill of a seeded random prompt
    /// into a fresh cache (in the engine's chunks), <paramref name="afterPrefill"/> (e.g. eviction, untimed), then
    /// <paramref name="genTokens"/> single-token decode steps on the engine's kernels, or on libtorch's eager
    /// operators when <paramref name="libtorchSteps"/> (the reference the kernels are compared against). With
    /// <paramref name="eviction"/>, prefill feeds the policy's capture and the cache is evicted to
    /// <paramref name="alpha"/> right after it (timed apart). With <paramref name="cachedTokens"/>, every run also times,
    /// right after its cold prefill, a warm one: those leading tokens restored from the engine's prefix cache (stored
    /// by the warm-up), the rest prefilled.
    /// </summary>
    public static Result Run(GenerationEngine engine, int promptTokens, int genTokens, int runs, int seed = 0,
        Action<KvCache>? afterPrefill = null, IProgress<int>? progress = null, EvictionPolicy? eviction = null, double alpha = 0, bool libtorchSteps = false,
        int cachedTokens = 0)
    {
        if (cachedTokens != 0 && (cachedTokens < 0 || cachedTokens % PrefixCache.BlockTokens != 0 || cachedTokens >= promptTokens))
            throw new ArgumentException($"--cached-tokens must be a positive multiple of {PrefixCache.BlockTokens} below --prompt-tokens, got {cachedTokens}.");
        if (cachedTokens > 0 && engine.Prefixes is null) throw new ArgumentException("--cached-tokens needs the engine's prefix cache.");
        var model = engine.Model;
        if (promptTokens <= 0) throw new ArgumentException($"--prompt-tokens must be positive, got {promptTokens}.");
        if (genTokens <= 0) throw new ArgumentException($"--gen-tokens must be positive, got {genTokens}.");
        if (runs <= 0) throw new ArgumentException($"--runs must be positive, got {runs}.");
        if (promptTokens + genTokens > model.Config.MaxPositions)
            throw new ArgumentException($"prompt + generated tokens ({promptTokens + genTokens}) exceed the model's context ({model.Config.MaxPositions}).");

        var random = new Random(seed);
        int[] prompt = Enumerable.Range(0, promptTokens).Select(_ => random.Next(model.Config.VocabSize)).ToArray();
        int[] steps = Enumerable.Range(0, genTokens).Select(_ => random.Next(model.Config.VocabSize)).ToArray();
        using var cache = model.CreateCache(promptTokens + genTokens);
        using var warmCache = cachedTokens > 0 ? model.CreateCache(promptTokens + genTokens) : null;
        var logits = new float[model.Config.VocabSize];

        var prefillMs = new List<double>();
        var decodeMs = new List<double>();
        var evictMs = new List<double>();
        var warmMs = new List<double>();
        int kept = promptTokens;
        for (int run = -1; run < runs; run++)
        {
            cache.Reset();
            var clock = Stopwatch.StartNew();
            using var capture = eviction?.CreateCapture(model.Config); // the policy's prefill statistics, timed with prefill
            engine.Prefill(prompt, cache, logits, capture);
            double prefill = clock.Elapsed.TotalMilliseconds;
            if (cachedTokens > 0)
            {
                if (run < 0) engine.Prefixes!.Store(prompt, cache, cachedTokens);
                warmCache!.Reset();
                clock.Restart();
                engine.Prefixes!.Restore(prompt, warmCache, cachedTokens);
                engine.Prefill(prompt.AsSpan(cachedTokens), warmCache, logits);
                if (run >= 0) warmMs.Add(clock.Elapsed.TotalMilliseconds);
            }
            double evict = eviction?.Evict(cache, alpha, capture).Elapsed.TotalMilliseconds ?? 0;
            kept = cache.Length(0);
            afterPrefill?.Invoke(cache);
            clock.Restart();
            if (libtorchSteps) foreach (int token in steps) model.ForwardLast([token], cache);
            else foreach (int token in steps) engine.Decoder.Step(token, cache, logits);
            double decode = clock.Elapsed.TotalMilliseconds / genTokens;
            if (run < 0) continue; // warm-up
            prefillMs.Add(prefill);
            decodeMs.Add(decode);
            evictMs.Add(evict);
            progress?.Report(run + 1);
        }
        double medianPrefill = Median(prefillMs), medianDecode = Median(decodeMs);
        return new Result(promptTokens, genTokens, runs, promptTokens / medianPrefill * 1000, 1000 / medianDecode, medianPrefill, medianDecode)
        {
            EvictMs = Median(evictMs),
            KeptEntries = kept,
            CachedTokens = cachedTokens,
            WarmPrefillMs = cachedTokens > 0 ? Median(warmMs) : 0,
        };
    }

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
