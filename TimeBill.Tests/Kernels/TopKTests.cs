using TimeBill.Kernels;

namespace TimeBill.Tests.Kernels;

public class TopKTests
{
    [Theory]
    [InlineData(KernelVariant.Sort)]
    [InlineData(KernelVariant.QuickSelect)]
    public void Keeps_protected_positions_and_exactly_k_per_head(string algorithm)
    {
        const int heads = 3, length = 40, k = 12;
        var random = new Random(11);
        var scores = Enumerable.Range(0, heads * length).Select(_ => random.NextSingle()).ToArray();
        var isProtected = Enumerable.Range(0, length).Select(i => i < 2 || i >= length - 4).ToArray();
        for (int i = 0; i < length; i++) if (isProtected[i]) scores[i] = -100; // lowest scores, kept anyway
        var indices = new int[heads * k];
        TopK.Select(scores, heads, length, k, indices, isProtected, new KernelVariant(algorithm));
        for (int h = 0; h < heads; h++)
        {
            var kept = indices.AsSpan(h * k, k).ToArray();
            Assert.Equal(k, kept.Distinct().Count());
            Assert.Equal(kept.Order(), kept);
            Assert.All(Enumerable.Range(0, length).Where(i => isProtected[i]), i => Assert.Contains(i, kept));
            float weakestKept = kept.Where(i => !isProtected[i]).Min(i => scores[h * length + i]);
            Assert.All(Enumerable.Range(0, length).Where(i => !kept.Contains(i)), i => Assert.True(scores[h * length + i] <= weakestKept));
        }
    }

    [Theory]
    [InlineData(KernelVariant.Sort)]
    [InlineData(KernelVariant.QuickSelect)]
    public void Ties_go_to_the_lower_index(string algorithm)
    {
        var scores = new float[] { 1, 5, 5, 5, 0, 5 };
        var indices = new int[2];
        TopK.Select(scores, 1, scores.Length, 2, indices, variant: new KernelVariant(algorithm));
        Assert.Equal([1, 2], indices);
    }

    [Fact]
    public void Per_head_protection_keeps_each_heads_own_positions()
    {
        const int heads = 2, length = 6, k = 3;
        var scores = new float[] { 9, 8, 7, 0, 0, 0, /* head 1 */ 9, 8, 7, 0, 0, 0 };
        var isProtected = new[] { false, false, false, false, false, true, /* head 1 */ false, false, false, true, true, false };
        var indices = new int[heads * k];
        TopK.Select(scores, heads, length, k, indices, isProtected);
        Assert.Equal([0, 1, 5, 0, 3, 4], indices);
        Assert.Throws<ArgumentException>(() => TopK.Select(scores, heads, length, k, indices, new bool[5]));
    }

    [Fact]
    public void More_protected_positions_than_k_is_an_argument_error()
    {
        var e = Assert.Throws<ArgumentException>(() => TopK.Select(new float[4], 1, 4, 1, new int[1], new[] { true, true, false, false }));
        Assert.Equal("protectedPositions", e.ParamName);
    }

    [Fact]
    public void Group_average_and_max_pool_match_their_definitions()
    {
        var headScores = new float[] { 1, 2, 3, 3, 4, 5, 10, 0, 0, 0, 0, 2 }; // 4 heads x 3
        var kv = new float[6];
        EvictionScores.AverageGroups(headScores, 4, 2, 3, kv);
        Assert.Equal([2, 3, 4, 5, 0, 1], kv);
        var pooled = new float[6];
        EvictionScores.MaxPool([1, 5, 2, 0, 0, 3], 2, 3, 3, pooled);
        Assert.Equal([5, 5, 5, 0, 3, 3], pooled);
        // Zero padding, always divided by the window: avg_pool1d(kernel 3, padding 1) with count_include_pad.
        EvictionScores.AveragePool([3, 6, 9, 0, 0, 3], 2, 3, 3, pooled);
        Assert.Equal([3, 6, 5, 0, 1, 1], pooled);
        Assert.Throws<ArgumentOutOfRangeException>(() => EvictionScores.AveragePool(new float[3], 1, 3, 2, new float[3]));
    }
}
