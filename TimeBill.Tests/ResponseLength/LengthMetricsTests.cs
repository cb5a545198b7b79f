using TimeBill.Core.Planning;
using TimeBill.Predictors.ResponseLength;

namespace TimeBill.Tests.ResponseLength;

/// <summary>Metrics against hand-computed values.</summary>
public sealed class LengthMetricsTests
{
    [Fact]
    public void MatchesHandComputedValues()
    {
        double[] predicted = [10, 20, 30, 40];
        int[] actual = [12, 18, 33, 80];
        var m = LengthMetrics.Compute(predicted, actual, new LengthBuckets(16, 512));
        // errors -2, 2, -3, -40
        Assert.Equal((2 + 2 + 3 + 40) / 4.0, m.Mae, 10);
        Assert.Equal(Math.Sqrt((4 + 4 + 9 + 1600) / 4.0), m.Rmse, 10);
        double mean = (12 + 18 + 33 + 80) / 4.0;
        double tot = new[] { 12, 18, 33, 80 }.Sum(a => (a - mean) * (a - mean));
        Assert.Equal(1 - 1617 / tot, m.R2, 10);
        // buckets of 16: 10→0 vs 12→0 hit; 20→1 vs 18→1 hit; 30→1 vs 33→2 miss; 40→2 vs 80→5 miss
        Assert.Equal(0.5, m.BucketAccuracy, 10);
        var share = m.Exceedance.ToDictionary(e => e.K, e => e.Share);
        Assert.Equal(0.75, share[1]);   // 12 > 10, 33 > 30, 80 > 40
        Assert.Equal(0.25, share[1.5]); // 80 > 60
        Assert.Equal(0.0, share[2]);    // 80 > 80 is false
        Assert.Equal(0.0, share[5]);
    }

    [Fact]
    public void PerfectPredictionsScoreOneAndConstantMeanScoresZero()
    {
        int[] actual = [100, 200, 300];
        var perfect = LengthMetrics.Compute(actual.Select(a => (double)a).ToArray(), actual, new LengthBuckets(16, 512));
        Assert.Equal(0, perfect.Mae);
        Assert.Equal(1, perfect.R2, 12);
        Assert.Equal(1, perfect.BucketAccuracy);
        var constant = LengthMetrics.Compute([200.0, 200, 200], actual, new LengthBuckets(16, 512));
        Assert.Equal(0, constant.R2, 12);
    }

    [Fact]
    public void MismatchedCountsAreRejected() =>
        Assert.Throws<ArgumentException>(() => LengthMetrics.Compute([1.0], [1, 2], new LengthBuckets(16, 512)));

    [Fact]
    public void NeighbourSmoothingSplitsMassAndSumsToOne()
    {
        Assert.Equal([0.1f, 0.8f, 0.1f, 0f], RlpTrainer.NeighbourSmoothed(1, 4, 0.2));
        Assert.Equal([0.8f, 0.2f, 0f, 0f], RlpTrainer.NeighbourSmoothed(0, 4, 0.2));
        Assert.Equal([0f, 0f, 0.2f, 0.8f], RlpTrainer.NeighbourSmoothed(3, 4, 0.2));
    }
}
