using TimeBill.Core.Cache;
using TimeBill.Core.Eviction;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Cache;

/// <summary>
/// Prompts that start like earlier ones reuse their keys and values: the same logits and continuations as a cold
/// prefill, bounded memory, least-recently-used eviction, pins, concurrent callers, and per-job eviction that leaves
/// the kept prefix intact.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class PrefixCacheTests(ModelFixture models)
{
    /// <summary>Keeps the logits the first token is sampled from (the prefill's last position).</summary>
    private sealed class FirstLogits : ILogitsProcessor
    {
        public float[]? Logits { get; private set; }
        public void Reset(ReadOnlySpan<int> prompt) => Logits = null;
        public void Process(Span<float> logits, ReadOnlySpan<int> generated) => Logits ??= logits.ToArray();
    }

    private static int[] RandomIds(int count, int vocabulary, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(3, vocabulary))];
    }

    private static (GenerationResult Result, float[] Logits) Run(GenerationEngine engine, int[] prompt, int tokens = 16, GenerationOptions? options = null)
    {
        var first = new FirstLogits();
        var result = engine.Generate(prompt, (options ?? new GenerationOptions()) with { MaxNewTokens = tokens, StopTokenIds = [], LogitsProcessors = [first] });
        return (result, first.Logits!);
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tolerance, $"largest logit difference {worst} exceeds {tolerance}");
    }

    /// <summary>The sliding-window model's window (24) is shorter than the reused prefix, so its restored entries are windowed too.</summary>
    [Theory]
    [InlineData("stories260K")]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    [InlineData("tiny-random-mistral-swa")]
    public void AWarmPrefixGivesTheLogitsAndContinuationOfAColdPrefill(string name)
    {
        var model = models.Get(name);
        int vocabulary = model.Config.VocabSize;
        int[] system = RandomIds(70, vocabulary, 1);
        int[] first = [.. system, .. RandomIds(9, vocabulary, 2)], second = [.. system, .. RandomIds(13, vocabulary, 3)];
        using var warm = new GenerationEngine(model, new EngineOptions { PrefillChunkSize = 32 });
        using var cold = new GenerationEngine(model, new EngineOptions { PrefixCacheBytes = 0 });

        var (firstWarm, _) = Run(warm, first);
        Assert.Equal(0, firstWarm.ReusedPromptTokens);
        var (secondWarm, warmLogits) = Run(warm, second);
        var (secondCold, coldLogits) = Run(cold, second);

        Assert.Equal(64, secondWarm.ReusedPromptTokens); // the system prompt's whole blocks
        Assert.Equal(0, secondCold.ReusedPromptTokens);
        AssertClose(coldLogits, warmLogits, 1e-4f);
        Assert.Equal(secondCold.Ids, secondWarm.Ids);
        // The same prompt again reuses all of it but its last token.
        var (again, againLogits) = Run(warm, second);
        Assert.Equal((second.Length - 1) / PrefixCache.BlockTokens * PrefixCache.BlockTokens, again.ReusedPromptTokens);
        AssertClose(coldLogits, againLogits, 1e-4f);
        Assert.Equal(secondCold.Ids, again.Ids);
    }

    [Fact]
    public void APromptThatDiffersEarlyReusesOnlyTheBlocksBeforeTheDifference()
    {
        var model = models.Get("stories260K");
        int[] a = RandomIds(80, 512, 4);
        int[] b = [.. a];
        b[40] = b[40] == 7 ? 8 : 7; // in the third block
        using var engine = new GenerationEngine(model);
        Run(engine, a, tokens: 1);
        Assert.Equal(32, engine.Prefixes!.Match(b, b.Length));
        Assert.Equal(32, Run(engine, b, tokens: 1).Result.ReusedPromptTokens);
        Assert.Equal(0, Run(engine, b, tokens: 1, new GenerationOptions { ReusePrefix = false }).Result.ReusedPromptTokens);
    }

    [Fact]
    public void MemoryStaysWithinTheBudgetAndTheLeastRecentlyUsedPrefixGoesFirst()
    {
        var model = models.Get("stories260K");
        var config = model.Config;
        long block = PrefixCache.BytesPerBlock(config.LayerCount, config.KvHeadCount, config.HeadDim);
        using var engine = new GenerationEngine(model, new EngineOptions { PrefixCacheBytes = 5 * block });
        int[][] prompts = [.. Enumerable.Range(0, 4).Select(i => RandomIds(33, 512, 10 + i))]; // two blocks each
        foreach (var prompt in prompts)
        {
            Run(engine, prompt, tokens: 1);
            Assert.True(engine.Prefixes!.BytesInUse <= engine.Prefixes.ByteBudget);
        }
        Assert.Equal(5, engine.Prefixes!.BlockCount);
        Assert.Equal(32, engine.Prefixes.Match(prompts[3], 33)); // the newest whole
        Assert.Equal(32, engine.Prefixes.Match(prompts[2], 33));
        Assert.Equal(16, engine.Prefixes.Match(prompts[1], 33)); // its leaf went first, its root is still there
        Assert.Equal(0, engine.Prefixes.Match(prompts[0], 33));  // the oldest, gone
    }

    [Fact]
    public void APinnedPrefixSurvivesPressureUntilReleased()
    {
        var model = models.Get("stories260K");
        var config = model.Config;
        long block = PrefixCache.BytesPerBlock(config.LayerCount, config.KvHeadCount, config.HeadDim);
        using var engine = new GenerationEngine(model, new EngineOptions { PrefixCacheBytes = 3 * block });
        int[] system = RandomIds(33, 512, 20);
        Run(engine, system, tokens: 1);
        var pin = engine.Prefixes!.Pin(system);
        foreach (int seed in new[] { 21, 22, 23 }) Run(engine, RandomIds(33, 512, seed), tokens: 1);
        Assert.Equal(32, engine.Prefixes.Match(system, 33));
        pin.Dispose();
        pin.Dispose(); // a second disposal changes nothing
        foreach (int seed in new[] { 24, 25 }) Run(engine, RandomIds(33, 512, seed), tokens: 1);
        Assert.Equal(0, engine.Prefixes.Match(system, 33));
    }

    [Fact]
    public async Task ConcurrentCallersSharingAPrefixGetTheColdResults()
    {
        var model = models.Get("stories260K");
        int[] system = RandomIds(60, 512, 30);
        int[][] prompts = [.. Enumerable.Range(0, 6).Select(i => (int[])[.. system, .. RandomIds(5 + i, 512, 31 + i)])];
        using var cold = new GenerationEngine(model, new EngineOptions { PrefixCacheBytes = 0 });
        var expected = prompts.Select(p => Run(cold, p).Result.Ids).ToArray();

        using var warm = new GenerationEngine(model);
        var options = new GenerationOptions { MaxNewTokens = 16, StopTokenIds = [] };
        var results = await Task.WhenAll(prompts.Select(p => Task.Run(() => warm.GenerateAsync(p, options))));
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(expected[i], results[i].Ids);
        Assert.True(results.Count(r => r.ReusedPromptTokens > 0) >= prompts.Length - 1, "the jobs after the first reuse the system prompt");
    }

    /// <summary>
    /// A job that evicts half its cache evicts from its own copy: with SnapKV's window inside the new tokens it
    /// keeps what a cold job keeps, and the next job still finds the whole prefix.
    /// </summary>
    [Fact]
    public void EvictionAfterAWarmPrefillMatchesAColdOneAndLeavesThePrefixWhole()
    {
        var model = models.Get("stories260K");
        int[] system = RandomIds(96, 512, 40);
        int[] first = [.. system, .. RandomIds(40, 512, 41)], second = [.. system, .. RandomIds(40, 512, 42)];
        var evicting = new GenerationOptions { Eviction = new SnapKvPolicy(), EvictionRatio = 0.5 };
        using var cold = new GenerationEngine(model, new EngineOptions { PrefixCacheBytes = 0 });
        using var warm = new GenerationEngine(model);

        Run(warm, first, options: evicting);
        var (warmEvicted, _) = Run(warm, second, options: evicting);
        var (coldEvicted, _) = Run(cold, second, options: evicting);
        Assert.Equal(96, warmEvicted.ReusedPromptTokens);
        Assert.Equal(coldEvicted.Ids, warmEvicted.Ids);

        var (after, afterLogits) = Run(warm, second);
        var (whole, wholeLogits) = Run(cold, second);
        Assert.Equal(128, after.ReusedPromptTokens);
        AssertClose(wholeLogits, afterLogits, 1e-4f);
        Assert.Equal(whole.Ids, after.Ids);
    }

    /// <summary>An observer that must see every prompt token (H2O's accumulated attention) turns reuse off for its job.</summary>
    [Fact]
    public void AnObserverOfEveryTokenPrefillsEverything()
    {
        var model = models.Get("stories260K");
        int[] prompt = RandomIds(50, 512, 50);
        using var engine = new GenerationEngine(model);
        Run(engine, prompt, tokens: 1);
        var h2o = new GenerationOptions { Eviction = new H2OPolicy(), EvictionRatio = 0.3 };
        Assert.Equal(0, Run(engine, prompt, tokens: 1, h2o).Result.ReusedPromptTokens);
        Assert.Equal(48, Run(engine, prompt, tokens: 1).Result.ReusedPromptTokens);
    }

    [Fact]
    public async Task APinnedSystemPromptStaysWarmForEveryTickAndIsReleasedOnDispose()
    {
        var model = models.Get("stories260K");
        long block = PrefixCache.BytesPerBlock(model.Config.LayerCount, model.Config.KvHeadCount, model.Config.HeadDim);
        using var generator = new TextGenerator(model, models.StoriesTokenizer, null, new EngineOptions { PrefixCacheBytes = 8 * block });
        string system = string.Join(" ", Enumerable.Repeat("The robot arm moves the red block to the left side of the table.", 4));
        using (var pinned = await generator.PinPrefixAsync(system))
        {
            Assert.Equal(pinned.Ids.Count / PrefixCache.BlockTokens * PrefixCache.BlockTokens, pinned.CachedTokens);
            Assert.True(pinned.CachedTokens >= 32);
            var options = new GenerationOptions { MaxNewTokens = 4, StopTokenIds = [] };
            for (int tick = 0; tick < 6; tick++)
            {
                // Other traffic through the cache between ticks, more than it holds besides the pin.
                await generator.GenerateAsync(RandomIds(60, 512, 100 + tick), options);
                var result = await generator.GenerateAsync(pinned.Then(models.StoriesTokenizer.Encode($" Tick {tick}: where is the block?")), options);
                Assert.Equal(pinned.CachedTokens, result.ReusedPromptTokens);
            }
        }
        using var off = new GenerationEngine(model, new EngineOptions { PrefixCacheBytes = 0 });
        await Assert.ThrowsAsync<InvalidOperationException>(() => off.PinPrefixAsync([1, 2, 3]));
    }

    [Fact]
    public void BadUseIsRefused()
    {
        var model = models.Get("stories260K");
        var config = model.Config;
        using var prefixes = new PrefixCache(config.LayerCount, config.KvHeadCount, config.HeadDim, 1 << 20);
        using var other = new KvCache(config.LayerCount + 1, config.KvHeadCount, config.HeadDim, 64);
        Assert.Throws<ArgumentException>(() => prefixes.Restore([1, 2, 3], other, 3));
        using var used = model.CreateCache(64);
        used.Advance(1);
        Assert.Throws<ArgumentException>(() => prefixes.Restore([1, 2, 3], used, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PrefixCache(1, 1, 1, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EngineOptions { PrefixCacheBytes = -1 }.Validate());
    }
}
