using TimeBill.Core.Cache;
using TimeBill.Core.Eviction;
using TimeBill.Core.Model;
using TimeBill.Tests.Support;
using static TorchSharp.torch;

namespace TimeBill.Tests.Eviction;

/// <summary>
/// The eviction contract for every policy, on the real stories260K (5 layers, 8 query heads sharing 4 KV heads):
/// exact counts, protected entries, unchanged positions, and decoding on the compacted cache equal to decoding on
/// the full cache with the evicted entries masked out of attention.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class EvictionPropertyTests(ModelFixture models)
{
    private const int PromptLength = 120;
    private const int ContinuationLength = 6;
    private static readonly double[] Alphas = [0.25, 0.5, 0.75, 0.9];

    /// <summary>What each paper says a policy always keeps: the entries at these prompt positions.</summary>
    private static IEnumerable<int> ProtectedPositions(string policy, int length) => policy switch
    {
        "snapkv" or "pyramidkv" => Enumerable.Range(Math.Max(0, length - 32), Math.Min(32, length)),
        "streamingllm" => Enumerable.Range(0, Math.Min(4, length)),
        "tova" => [length - 1],
        _ => [],
    };

    public static TheoryData<string> Policies() => new(EvictionPolicies.Names);

    public static TheoryData<string, double> PoliciesAndAlphas()
    {
        var data = new TheoryData<string, double>();
        foreach (string name in EvictionPolicies.Names)
            foreach (double alpha in Alphas)
                data.Add(name, alpha);
        return data;
    }

    private CausalLanguageModel Model => models.Get("stories260K");

    private static int[]? _story;

    /// <summary>A natural prompt: the model's own greedy story from BOS, then the next tokens to decode.</summary>
    private int[] Story()
    {
        if (_story is { } story) return story;
        var model = Model;
        var ids = new List<int> { model.GenerationConfig.BosTokenId ?? 1 };
        using var cache = model.CreateCache(PromptLength + ContinuationLength);
        float[] logits = model.ForwardLast(ids.ToArray(), cache);
        while (ids.Count < PromptLength + ContinuationLength)
        {
            int next = Array.IndexOf(logits, logits.Max());
            ids.Add(next);
            logits = model.ForwardLast([next], cache);
        }
        return _story = ids.ToArray();
    }

    private (KvCache Cache, EvictionResult Result) PrefillAndEvict(EvictionPolicy policy, ReadOnlySpan<int> prompt, double alpha, int extra = ContinuationLength)
    {
        var cache = Model.CreateCache(prompt.Length + extra);
        using var capture = policy.CreateCapture(Model.Config);
        Model.Forward(prompt, cache, observer: capture).Dispose();
        return (cache, policy.Evict(cache, alpha, capture));
    }

    private static List<float[]> DecodeStepByStep(CausalLanguageModel model, KvCache cache, ReadOnlySpan<int> tokens)
    {
        var rows = new List<float[]>();
        foreach (int token in tokens) rows.Add(model.ForwardLast([token], cache));
        return rows;
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void AlphaZeroReproducesFullCacheLogitsExactly(string name)
    {
        int[] story = Story();
        var prompt = story.AsSpan(0, PromptLength);
        var continuation = story.AsSpan(PromptLength);

        using var full = Model.CreateCache(story.Length);
        Model.Forward(prompt, full).Dispose();
        var expected = DecodeStepByStep(Model, full, continuation);

        var (cache, result) = PrefillAndEvict(EvictionPolicies.Create(name), prompt, alpha: 0);
        using (cache)
        {
            Assert.All(result.After, kept => Assert.Equal(PromptLength, kept));
            var actual = DecodeStepByStep(Model, cache, continuation);
            for (int step = 0; step < expected.Count; step++)
                Assert.Equal(expected[step], actual[step]);
        }
    }

    [Theory]
    [MemberData(nameof(PoliciesAndAlphas))]
    public void KeepsTheStatedCountAndProtectedEntriesWithPositionsAndContentsUnchanged(string name, double alpha)
    {
        int[] story = Story();
        var prompt = story.AsSpan(0, PromptLength);
        var policy = EvictionPolicies.Create(name);

        using var full = Model.CreateCache(PromptLength);
        Model.Forward(prompt, full).Dispose();
        var (cache, result) = PrefillAndEvict(policy, prompt, alpha);
        using var _ = cache;

        int layers = Model.Config.LayerCount;
        int uniform = (int)Math.Ceiling((1 - alpha) * PromptLength - 1e-9);
        int[] protectedPositions = ProtectedPositions(name, PromptLength).ToArray();
        int[] expected = name switch
        {
            "none" => Enumerable.Repeat(PromptLength, layers).ToArray(),
            "pyramidkv" => result.After.ToArray(), // checked below: same total, non-increasing with depth
            _ => Enumerable.Repeat(Math.Max(uniform, protectedPositions.Length), layers).ToArray(),
        };
        if (name == "pyramidkv")
        {
            int protectedCount = protectedPositions.Length;
            Assert.Equal(layers * Math.Max(uniform, protectedCount), expected.Sum());
            for (int layer = 1; layer < layers; layer++) Assert.True(expected[layer] <= expected[layer - 1], $"budgets must not grow with depth: {string.Join(",", expected)}");
            Assert.All(expected, b => Assert.InRange(b, protectedCount, PromptLength));
            if (uniform > protectedCount && uniform < PromptLength) Assert.True(expected[0] > expected[^1], $"budgets should fall with depth: {string.Join(",", expected)}");
        }

        Assert.Equal(Enumerable.Repeat(PromptLength, layers), result.Before);
        Assert.Equal(expected, result.After);
        Assert.Equal(PromptLength, cache.NextPosition);
        for (int layer = 0; layer < layers; layer++)
        {
            Assert.Equal(expected[layer], cache.Length(layer));
            for (int head = 0; head < cache.KvHeadCount; head++)
            {
                long[] kept = cache.PositionsOf(layer, head);
                Assert.Equal(expected[layer], kept.Length);
                Assert.True(kept.Zip(kept.Skip(1), (a, b) => a < b).All(x => x), "kept entries stay in position order without duplicates");
                Assert.All(kept, p => Assert.InRange(p, 0, PromptLength - 1));
                Assert.Subset(kept.ToHashSet(), protectedPositions.Select(p => (long)p).ToHashSet());

                // The kept entries are the full cache's entries at those positions, bit for bit (prefill puts position p at index p).
                using var index = tensor(kept);
                using var keys = cache.Keys(layer)[head];
                using var fullKeys = full.Keys(layer)[head].index_select(0, index);
                using var values = cache.Values(layer)[head];
                using var fullValues = full.Values(layer)[head].index_select(0, index);
                Assert.Equal(fullKeys.data<float>().ToArray(), keys.data<float>().ToArray());
                Assert.Equal(fullValues.data<float>().ToArray(), values.data<float>().ToArray());
            }
        }
    }

    [Theory]
    [MemberData(nameof(PoliciesAndAlphas))]
    public void DecodingAfterEvictionEqualsFullCacheAttentionWithEvictedEntriesMasked(string name, double alpha)
    {
        int[] story = Story();
        var prompt = story.AsSpan(0, PromptLength);
        var continuation = story.AsSpan(PromptLength);

        var (cache, _) = PrefillAndEvict(EvictionPolicies.Create(name), prompt, alpha);
        List<float[]> actual;
        var keptPositions = new long[Model.Config.LayerCount][][];
        using (cache)
        {
            for (int layer = 0; layer < keptPositions.Length; layer++)
                keptPositions[layer] = Enumerable.Range(0, cache.KvHeadCount).Select(h => cache.PositionsOf(layer, h)).ToArray();
            actual = DecodeStepByStep(Model, cache, continuation);
        }

        // Reference: the full cache, every entry still there, but an evicted entry is made invisible to every later
        // query by moving its position past the end of time; the continuation then runs as one causally masked pass.
        using var full = Model.CreateCache(story.Length);
        Model.Forward(prompt, full).Dispose();
        for (int layer = 0; layer < keptPositions.Length; layer++)
        {
            using var keep = zeros(new long[] { full.KvHeadCount, PromptLength }, dtype: ScalarType.Bool);
            for (int head = 0; head < full.KvHeadCount; head++)
                foreach (long p in keptPositions[layer][head]) keep[head, p] = tensor(true);
            using var positions = full.Positions(layer);
            using var evicted = keep.logical_not();
            positions.masked_fill_(evicted, long.MaxValue / 2);
        }
        using var reference = Model.Forward(continuation, full, allLogits: true);

        for (int step = 0; step < actual.Count; step++)
        {
            float[] expected = reference[step].data<float>().ToArray();
            double worst = expected.Zip(actual[step], (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worst <= 1e-4, $"{name} α={alpha} step {step}: max |Δlogit| = {worst:E3}");
        }
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(-1e-12)]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void BadAlphaIsRejectedNamingTheArgument(double alpha)
    {
        using var cache = Model.CreateCache(8);
        Model.Forward([1, 2, 3, 4], cache).Dispose();
        foreach (string name in EvictionPolicies.Names)
        {
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => EvictionPolicies.Create(name).Evict(cache, alpha));
            Assert.Equal("alpha", error.ParamName);
            Assert.Contains("[0, 1)", error.Message);
        }
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => EvictionPolicy.KeepCount(10, alpha)).ParamName);
        Assert.All(Enumerable.Range(0, cache.LayerCount), layer => Assert.Equal(4, cache.Length(layer)));
    }

    [Fact]
    public void KeepCountIsTheCeilingOfTheKeptShare()
    {
        Assert.Equal(30, EvictionPolicy.KeepCount(100, 0.7));   // (1−0.7)·100 = 30.000000000000004 in doubles
        Assert.Equal(40, EvictionPolicy.KeepCount(400, 0.9));
        Assert.Equal(76, EvictionPolicy.KeepCount(101, 0.25));  // 75.75 → 76
        Assert.Equal(1, EvictionPolicy.KeepCount(3, 0.999));
        Assert.Equal(0, EvictionPolicy.KeepCount(0, 0.5));
        Assert.Equal(7, EvictionPolicy.KeepCount(7, 0));
    }

    [Theory]
    [InlineData("snapkv")]
    [InlineData("pyramidkv")]
    [InlineData("h2o")]
    [InlineData("tova")]
    public void PolicyThatNeedsPrefillStatisticsRejectsAMissingOrForeignCapture(string name)
    {
        var policy = EvictionPolicies.Create(name);
        using var cache = Model.CreateCache(PromptLength);
        Model.Forward(Story().AsSpan(0, PromptLength), cache).Dispose();
        Assert.Equal("capture", Assert.Throws<ArgumentException>(() => policy.Evict(cache, 0.5)).ParamName);
        using var foreign = new SnapKvPolicy().CreateCapture(Model.Config);
        Assert.Equal("capture", Assert.Throws<ArgumentException>(() => policy.Evict(cache, 0.5, foreign)).ParamName);
        Assert.Equal(PromptLength, cache.Length(0));
    }

    [Fact]
    public void ACaptureFromAnotherPrefillIsRejected()
    {
        var policy = new SnapKvPolicy();
        int[] story = Story();
        using var capture = policy.CreateCapture(Model.Config);
        using (var other = Model.CreateCache(PromptLength))
            Model.Forward(story.AsSpan(0, 80), other, observer: capture).Dispose();
        using var cache = Model.CreateCache(PromptLength);
        Model.Forward(story.AsSpan(0, PromptLength), cache).Dispose();
        Assert.Throws<InvalidOperationException>(() => policy.Evict(cache, 0.5, capture));
    }

    /// <summary>Prefills <paramref name="prompt"/> into <paramref name="cache"/> in the given chunk lengths, observed by <paramref name="capture"/>.</summary>
    private void PrefillInChunks(int[] prompt, int[] chunks, KvCache cache, EvictionCapture? capture)
    {
        int start = 0;
        foreach (int chunk in chunks)
        {
            Model.Forward(prompt.AsSpan(start, chunk), cache, observer: capture).Dispose();
            start += chunk;
        }
    }

    [Theory]
    [InlineData("snapkv")]
    [InlineData("h2o")]
    [InlineData("tova")]
    public void ChunkedPrefillCapturesTheSameStatisticsAsOnePass(string name)
    {
        int[] prompt = Story()[..PromptLength];
        var policy = EvictionPolicies.Create(name);
        long[][] Kept(int[] chunks)
        {
            using var cache = Model.CreateCache(PromptLength);
            using var capture = policy.CreateCapture(Model.Config);
            PrefillInChunks(prompt, chunks, cache, capture);
            policy.Evict(cache, 0.75, capture);
            return Enumerable.Range(0, cache.LayerCount).SelectMany(l => Enumerable.Range(0, cache.KvHeadCount).Select(h => cache.PositionsOf(l, h))).ToArray();
        }
        var onePass = Kept([PromptLength]);
        var chunked = Kept([50, 45, 20, 5]); // the last chunks are shorter than SnapKV's window
        Assert.Equal(onePass, chunked);
    }

    [Theory]
    [InlineData(150)] // the window of 32 straddles the prefill's query blocks of 128
    [InlineData(20)]  // a prompt shorter than the window
    public void WindowAttentionHandedOverByPrefillEqualsTheRecomputedOne(int length)
    {
        // One pass hands the window's probabilities over from the prefill's own attention; a prefill whose last
        // chunk is a single token recomputes them over the cache. Both must give the same statistic.
        int[] prompt = Enumerable.Range(0, length).Select(i => Story()[i % Story().Length]).ToArray();
        var policy = new SnapKvPolicy();
        float[] Statistic(int[] chunks)
        {
            using var cache = Model.CreateCache(length);
            using var capture = policy.CreateCapture(Model.Config);
            PrefillInChunks(prompt, chunks, cache, capture);
            return Enumerable.Range(0, cache.LayerCount).SelectMany(l => capture.Statistic(l, cache).data<float>().ToArray()).ToArray();
        }
        float[] handedOver = Statistic([length]), recomputed = Statistic([length - 1, 1]);
        Assert.Equal(recomputed.Length, handedOver.Length);
        Assert.All(handedOver.Zip(recomputed), pair => Assert.Equal(pair.Second, pair.First, 1e-4f));
        // The window's queries each spread a mass of 1 per query head: group · min(w, T) per KV head and layer.
        int group = Model.Config.HeadCount / Model.Config.KvHeadCount;
        Assert.Equal(Model.Config.LayerCount * Model.Config.KvHeadCount * group * Math.Min(32, length), handedOver.Sum(), 0.05);
    }

    [Fact]
    public void H2OAccumulatesTheSameMassWhateverTheQueryChunk()
    {
        int[] prompt = Story()[..PromptLength];
        float[] Mass(int chunk)
        {
            var policy = new H2OPolicy(chunk);
            using var cache = Model.CreateCache(PromptLength);
            using var capture = policy.CreateCapture(Model.Config);
            Model.Forward(prompt, cache, observer: capture).Dispose();
            return Enumerable.Range(0, cache.LayerCount).SelectMany(l => capture.Statistic(l, cache).data<float>().ToArray()).ToArray();
        }
        float[] whole = Mass(1024), chunked = Mass(7);
        Assert.All(whole.Zip(chunked), pair => Assert.Equal(pair.First, pair.Second, 1e-4f));
        // Every query's attention sums to 1 over its group's heads: the total mass per KV head is group · T.
        int group = Model.Config.HeadCount / Model.Config.KvHeadCount;
        Assert.Equal(Model.Config.LayerCount * Model.Config.KvHeadCount * group * PromptLength, whole.Sum(), 0.05);
    }

    [Fact]
    public void StreamingLlmKeepsTheSinksAndTheMostRecentEntries()
    {
        var (cache, _) = PrefillAndEvict(new StreamingLlmPolicy(), Story().AsSpan(0, PromptLength), 0.75);
        using var _c = cache;
        long[] expected = [0, 1, 2, 3, .. Enumerable.Range(PromptLength - 26, 26).Select(p => (long)p)];
        for (int layer = 0; layer < cache.LayerCount; layer++)
            for (int head = 0; head < cache.KvHeadCount; head++)
                Assert.Equal(expected, cache.PositionsOf(layer, head));
    }

    [Fact]
    public void KNormKeepsTheKeysWithTheSmallestNorm()
    {
        var prompt = Story().AsSpan(0, PromptLength);
        using var full = Model.CreateCache(PromptLength);
        Model.Forward(prompt, full).Dispose();
        var (cache, _) = PrefillAndEvict(new KNormPolicy(), prompt, 0.5);
        using var _c = cache;
        for (int layer = 0; layer < cache.LayerCount; layer++)
            for (int head = 0; head < cache.KvHeadCount; head++)
            {
                float[] keys = full.Keys(layer)[head].data<float>().ToArray();
                int hd = full.HeadDim;
                double[] norms = Enumerable.Range(0, PromptLength)
                    .Select(p => Math.Sqrt(Enumerable.Range(0, hd).Sum(d => (double)keys[p * hd + d] * keys[p * hd + d]))).ToArray();
                var kept = cache.PositionsOf(layer, head).Select(p => (int)p).ToHashSet();
                Assert.Equal(60, kept.Count);
                // Equal norms (the same token in layer 0) may tie either way; otherwise every kept key is shorter.
                double longestKept = kept.Max(p => norms[p]);
                double shortestEvicted = Enumerable.Range(0, PromptLength).Where(p => !kept.Contains(p)).Min(p => norms[p]);
                Assert.True(longestKept <= shortestEvicted + 1e-5, $"layer {layer} head {head}: kept ‖k‖ up to {longestKept}, evicted from {shortestEvicted}");
            }
    }

    [Fact]
    public void TovaKeepsTheSamePositionsInEveryKvHeadOfALayer()
    {
        var (cache, _) = PrefillAndEvict(new TovaPolicy(), Story().AsSpan(0, PromptLength), 0.5);
        using var _c = cache;
        for (int layer = 0; layer < cache.LayerCount; layer++)
            for (int head = 1; head < cache.KvHeadCount; head++)
                Assert.Equal(cache.PositionsOf(layer, 0), cache.PositionsOf(layer, head));
    }

    [Fact]
    public void RandomIsReproducibleForASeed()
    {
        int[] prompt = Story()[..PromptLength];
        long[] Kept(int seed)
        {
            var (cache, _) = PrefillAndEvict(new RandomPolicy(seed), prompt, 0.5);
            using var _c = cache;
            return cache.PositionsOf(2, 1);
        }
        Assert.Equal(Kept(7), Kept(7));
        Assert.NotEqual(Kept(7), Kept(8));
    }

    [Fact]
    public void PyramidBudgetsFallWithDepthAtTheUniformTotal()
    {
        var policy = new PyramidKvPolicy();
        int[] budgets = policy.PlanBudgets(Enumerable.Repeat(2048, 30).ToArray(), 0.5);
        Assert.Equal(30 * 1024, budgets.Sum());
        Assert.True(budgets.Zip(budgets.Skip(1), (a, b) => a >= b).All(x => x));
        Assert.True(budgets[0] > 1500 && budgets[^1] < 200, string.Join(",", budgets));
        Assert.All(budgets, b => Assert.InRange(b, 32, 2048));
    }

    [Fact]
    public void UnknownPolicyNameIsRejectedListingTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => EvictionPolicies.Create("snapkvv"));
        Assert.Equal("name", error.ParamName);
        Assert.Contains("snapkv", error.Message);
    }
}
