using TimeBill.Core.Planning;

namespace TimeBill.Tests.ResponseLength;

/// <summary>Bucketing math against hand-computed values.</summary>
public sealed class LengthBucketsTests
{
    [Theory]
    [InlineData(4, 512, 128)]
    [InlineData(8, 512, 64)]
    [InlineData(16, 512, 32)]
    [InlineData(16, 8192, 512)] // the paper's setting
    [InlineData(103, 512, 5)]
    [InlineData(52, 512, 10)]
    public void CountIsCeilingOfMaxOverWidth(int width, int max, int count) => Assert.Equal(count, new LengthBuckets(width, max).Count);

    [Fact]
    public void EdgesAndMembership()
    {
        var b = new LengthBuckets(16, 512);
        Assert.Equal(0, b.BucketOf(0));
        Assert.Equal(0, b.BucketOf(15));
        Assert.Equal(1, b.BucketOf(16));
        Assert.Equal(31, b.BucketOf(511));
        Assert.Equal(31, b.BucketOf(512));   // the maximum itself belongs to the last bucket
        Assert.Equal(31, b.BucketOf(9000));
        Assert.Equal(16, b.LowerEdge(1));
        Assert.Equal(31, b.UpperEdge(1));
        Assert.Equal(512, b.UpperEdge(31)); // capped at the maximum
        Assert.Throws<ArgumentOutOfRangeException>(() => b.UpperEdge(32));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.BucketOf(-1));
        Assert.Equal(5, LengthBuckets.WithCount(5, 512).Count);
    }

    [Fact]
    public void UpperEdgeOfTheMostLikelyBucketIsThePapersPrediction()
    {
        var b = new LengthBuckets(8, 32); // 4 buckets
        var p = new ResponseLengthPrediction(b, [0.1f, 0.2f, 0.6f, 0.1f], 0);
        Assert.Equal(2, p.MostLikelyBucket);
        Assert.Equal(23, p.MostLikelyUpperEdge);
    }

    [Fact]
    public void QuantileInterpolatesUniformlyWithinABucket()
    {
        var b = new LengthBuckets(10, 40); // buckets [0,10) [10,20) [20,30) [30,40]
        var p = new ResponseLengthPrediction(b, [2f, 2f, 4f, 2f], 0); // normalised to 0.2 0.2 0.4 0.2
        Assert.Equal(0.2f, p.Probabilities[0], 6);
        Assert.Equal(5, p.Quantile(0.1), 6);     // half of the first bucket
        Assert.Equal(10, p.Quantile(0.2), 6);    // end of the first bucket
        Assert.Equal(25, p.Quantile(0.6), 6);    // 0.4 + 0.2 of the 0.4 bucket → half way through [20,30)
        Assert.Equal(40, p.Quantile(1.0), 4);    // capped at the maximum
        Assert.Equal(0.2 * 5 + 0.2 * 15 + 0.4 * 25 + 0.2 * 35.5, p.Mean, 4); // the last bucket holds 30..40 inclusive
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Quantile(1.5));
    }

    [Fact]
    public void PointMassPutsAllProbabilityOnTheLengthsBucket()
    {
        var p = ResponseLengthPrediction.PointMass(new LengthBuckets(16, 512), 100.4);
        Assert.Equal(1f, p.Probabilities[6]);
        Assert.Equal(100.4, p.Length);
    }

    [Fact]
    public void BadDistributionsAreRejected()
    {
        var b = new LengthBuckets(16, 32);
        Assert.Throws<ArgumentException>(() => new ResponseLengthPrediction(b, [1f], 0));
        Assert.Throws<ArgumentException>(() => new ResponseLengthPrediction(b, [0f, 0f], 0));
        Assert.Throws<ArgumentException>(() => new ResponseLengthPrediction(b, [-1f, 2f], 0));
    }
}
