using TimeBill.Cli.Evaluation;
using TimeBill.Core.Eviction;
using TimeBill.Core.Generation;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Eviction;

/// <summary>The generation loop's eviction hook, and the study's ROUGE-L.</summary>
[Collection(ModelCollection.Name)]
public sealed class GeneratorEvictionTests(ModelFixture models)
{
    private static readonly int[] Prompt = [1, .. Enumerable.Range(0, 90).Select(i => 20 + i * 7 % 400)];

    [Fact]
    public void GeneratorEvictsOnceAfterPrefillAndAlphaZeroChangesNothing()
    {
        using var generator = new TextGenerator(models.Get("stories260K"), models.StoriesTokenizer);
        var plain = generator.Generate(Prompt, new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [] });
        Assert.Null(plain.Eviction);

        var zero = generator.Generate(Prompt, new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [], Eviction = new SnapKvPolicy(), EvictionRatio = 0 });
        Assert.Equal(plain.Ids, zero.Ids);

        var evicted = generator.Generate(Prompt, new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [], Eviction = new SnapKvPolicy(), EvictionRatio = 0.5 });
        Assert.NotNull(evicted.Eviction);
        Assert.All(evicted.Eviction!.After, kept => Assert.Equal(46, kept)); // ceil(0.5 · 91)
        Assert.Equal(12, evicted.Ids.Count);
    }

    [Fact]
    public void GeneratorRejectsABadEvictionRatioNamingIt()
    {
        using var generator = new TextGenerator(models.Get("stories260K"), models.StoriesTokenizer);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            generator.Generate(Prompt, new GenerationOptions { Eviction = new KNormPolicy(), EvictionRatio = 1 }));
        Assert.Equal(nameof(GenerationOptions.EvictionRatio), error.ParamName);
    }

    [Theory]
    [InlineData(new[] { 1, 2, 3, 4 }, new[] { 1, 2, 3, 4 }, 1.0)]
    [InlineData(new[] { 1, 2, 3, 4 }, new[] { 5, 6, 7, 8 }, 0.0)]
    [InlineData(new[] { 1, 9, 2, 3 }, new[] { 1, 2, 3, 4 }, 0.75)] // LCS 1,2,3: P = R = 3/4
    [InlineData(new[] { 1, 2 }, new[] { 1, 3, 2, 4 }, 2.0 / 3)]     // LCS 2: P = 1, R = 1/2
    public void RougeLIsTheF1OfTheLongestCommonSubsequence(int[] candidate, int[] reference, double expected)
    {
        Assert.Equal(expected, TimeBill.Predictors.Evaluation.SequenceMetrics.RougeLF1(reference, candidate), 9);
    }
}
