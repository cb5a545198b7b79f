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

    [Fact]
    public void SameSeedSameSequence()
    {
        var options = new SamplingOptions { Temperature = 1, Seed = 42 };
        var a = new TokenSampler(options);
        var b = new TokenSampler(options);
        Assert.Equal(Enumerable.Range(0, 100).Select(_ => a.Sample(Logits)), Enumerable.Range(0, 100).Select(_ => b.Sample(Logits)));
    }

    [Theory]
    [InlineData(-1f, 0, 1f)]
    [InlineData(float.NaN, 0, 1f)]
    [InlineData(1f, -1, 1f)]
    [InlineData(1f, 0, 0f)]
    [InlineData(1f, 0, 1.5f)]
    public void BadOptionsAreRejected(float temperature, int topK, float topP) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP }));
}
