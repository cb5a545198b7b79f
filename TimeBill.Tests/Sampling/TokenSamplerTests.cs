using TimeBill.Core.Sampling;

namespace TimeBill.Tests.Sampling;

/// <summary>The sampler's filters and determinism.</summary>
public sealed class TokenSamplerTests
{
    private static readonly float[] Logits = [2f, 1f, 0f, -1f, 3f];

    [Fact]
    public void GreedyIsArgmax() => Assert.Equal(4, new TokenSampler(SamplingOptions.Greedy).Sample(Logits));

    [Fact]
    public void TopKOneIsArgmaxWhateverTheTemperature()
    {
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 5, TopK = 1, Seed = 1 });
        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(4, sampler.Sample(Logits)));
    }

    [Fact]
    public void TopPKeepsOnlyTheNucleus()
    {
        // Probabilities at T=1: 3 → 0.636, 2 → 0.234, 1 → 0.086, ... top-p 0.8 keeps {4, 0} only.
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, TopP = 0.8f, Seed = 3 });
        var seen = Enumerable.Range(0, 2000).Select(_ => sampler.Sample(Logits)).ToHashSet();
        Assert.Equal([0, 4], seen.Order());
    }

    [Fact]
    public void FrequenciesFollowTheSoftmax()
    {
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, Seed = 11 });
        const int draws = 40000;
        var counts = new int[Logits.Length];
        for (int i = 0; i < draws; i++) counts[sampler.Sample(Logits)]++;
        double z = Logits.Sum(l => Math.Exp(l));
        for (int i = 0; i < Logits.Length; i++)
            Assert.InRange(counts[i] / (double)draws, Math.Exp(Logits[i]) / z - 0.01, Math.Exp(Logits[i]) / z + 0.01);
    }

    /// <summary>
    /// On a vocabulary of many draw blocks, with the mass spread over tokens far apart (first and last block, a block
    /// boundary), the draw still follows the softmax, with no filter and with a top-p cut that keeps every heavy token.
    /// </summary>
    [Theory]
    [InlineData(1f, 0)]
    [InlineData(0.999f, 0)]
    [InlineData(1f, 8)]
    public void FrequenciesFollowTheSoftmaxAcrossALargeVocabulary(float topP, int topK)
    {
        float[] logits = Enumerable.Repeat(-30f, 20_000).ToArray();
        int[] heavy = [0, 1023, 1024, 7777, 19_999];
        float[] values = [1f, 0.5f, 2f, 0f, 1.5f];
        for (int i = 0; i < heavy.Length; i++) logits[heavy[i]] = values[i];
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, TopP = topP, TopK = topK, Seed = 3 });
        const int draws = 20000;
        var counts = new Dictionary<int, int>();
        for (int i = 0; i < draws; i++) { int id = sampler.Sample(logits); counts[id] = counts.GetValueOrDefault(id) + 1; }
        double z = values.Sum(v => Math.Exp(v)) + (logits.Length - heavy.Length) * Math.Exp(-30);
        Assert.Subset(heavy.ToHashSet(), counts.Keys.ToHashSet());
        for (int i = 0; i < heavy.Length; i++)
            Assert.InRange(counts[heavy[i]] / (double)draws, Math.Exp(values[i]) / z - 0.012, Math.Exp(values[i]) / z + 0.012);
    }

    [Fact]
    public void SameSeedSameSequence()
    {
        var options = new SamplingOptions { Temperature = 1, Seed = 42 };
        var a = new TokenSampler(options);
        var b = new TokenSampler(options);
        Assert.Equal(Enumerable.Range(0, 100).Select(_ => a.Sample(Logits)), Enumerable.Range(0, 100).Select(_ => b.Sample(Logits)));
    }

    [Fact]
    public void MinPKeepsTokensAtLeastThatFractionOfTheLikeliest()
    {
        // At T=1 relative to the top token (logit 3): 2 → e^-1 = 0.37, 1 → 0.14, 0 → 0.05. min-p 0.1 keeps {4, 0, 1}.
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, MinP = 0.1f, Seed = 5 });
        Assert.Equal([0, 1, 4], Enumerable.Range(0, 3000).Select(_ => sampler.Sample(Logits)).ToHashSet().Order());
        var withTopK = new TokenSampler(new SamplingOptions { Temperature = 1, MinP = 0.1f, TopK = 4, Seed = 5 });
        Assert.Equal([0, 1, 4], Enumerable.Range(0, 3000).Select(_ => withTopK.Sample(Logits)).ToHashSet().Order());
    }

    /// <summary>
    /// On a 151,936-token vocabulary the bucketed ranking keeps exactly the set a full sort would: top-k, top-p (on a
    /// flat distribution the nucleus spans most buckets, on a peaked one it ends in the first) and min-p.
    /// </summary>
    [Theory]
    [InlineData(0, 0.9f, 0f, 0.3f)]   // flat: the nucleus is most of the vocabulary
    [InlineData(0, 0.9f, 0f, 1.5f)]   // the cut falls in a bucket holding thousands
    [InlineData(0, 0.9f, 0f, 4f)]     // peaked: the cut falls in the first buckets
    [InlineData(40, 0.95f, 0f, 1f)]
    [InlineData(2000, 1f, 0.05f, 1f)]
    [InlineData(0, 0.5f, 0.2f, 2f)]
    public void BucketedRankingKeepsWhatAFullSortKeeps(int topK, float topP, float minP, float spread)
    {
        var random = new Random(17);
        float[] logits = Enumerable.Range(0, 151_936).Select(_ => (float)(random.NextDouble() * spread * 10)).ToArray();
        var options = new SamplingOptions { Temperature = 1, TopK = topK, TopP = topP, MinP = minP, Seed = 9 };
        var allowed = ReferenceKeptSet(logits, options);
        var sampler = new TokenSampler(options);
        var seen = Enumerable.Range(0, 60).Select(_ => sampler.Sample(logits)).ToHashSet();
        Assert.Subset(allowed, seen);
        if (allowed.Count <= 2) Assert.Equal(allowed, seen); // a kept set this small is hit in full by 60 draws
    }

    /// <summary>The tokens each filter keeps by the definitions, over a full descending sort.</summary>
    private static HashSet<int> ReferenceKeptSet(float[] logits, SamplingOptions options)
    {
        float max = logits.Max();
        double[] p = logits.Select(l => Math.Exp((l - max) / options.Temperature)).ToArray();
        int[] order = Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ToArray();
        int count = options.TopK > 0 ? options.TopK : order.Length;
        double kept = order.Take(count).Sum(i => p[i]), cumulative = 0;
        if (options.TopP < 1)
            for (int i = 0; i < count; i++)
                if ((cumulative += p[order[i]]) >= options.TopP * kept) { count = i + 1; break; }
        while (count > 1 && p[order[count - 1]] < options.MinP) count--;
        return [.. order.Take(count)];
    }

    [Fact]
    public void LogitBiasShiftsAndBansTokensInTheEngineChain()
    {
        var bias = new Dictionary<int, float> { [4] = float.NegativeInfinity, [3] = 4.5f };
        // The chain adds the bias before sampling: logit 3 of token 4 is banned, token 3's −1 becomes 3.5, the new top.
        float[] logits = [.. Logits];
        new LogitBiasProcessor(bias).Process(logits, []);
        Assert.Equal(3, new TokenSampler(SamplingOptions.Greedy).Sample(logits));
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, Seed = 2 });
        Assert.DoesNotContain(4, Enumerable.Range(0, 2000).Select(_ => sampler.Sample(logits)));
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1f)]
    [InlineData(float.NaN)]
    public void BadMinPIsRejected(float minP) =>
        Assert.Equal("MinP", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(new SamplingOptions { Temperature = 1, MinP = minP })).ParamName);

    [Theory]
    [InlineData(-1, 1f)]
    [InlineData(3, 101f)]
    [InlineData(3, float.NaN)]
    [InlineData(3, float.PositiveInfinity)]
    public void BadLogitBiasIsRejected(int id, float bias) =>
        Assert.Equal("LogitBias", Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingOptions { LogitBias = new Dictionary<int, float> { [id] = bias } }.Validate()).ParamName);

    [Theory]
    [InlineData(-1f, 0, 1f)]
    [InlineData(float.NaN, 0, 1f)]
    [InlineData(1f, -1, 1f)]
    [InlineData(1f, 0, 0f)]
    [InlineData(1f, 0, 1.5f)]
    public void BadOptionsAreRejected(float temperature, int topK, float topP) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP }));
}
