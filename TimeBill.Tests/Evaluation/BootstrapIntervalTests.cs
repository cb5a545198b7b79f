using TimeBill.Cli.Evaluation;

namespace TimeBill.Tests.Evaluation;

/// <summary>The percentile bootstrap of a mean against cases whose resampling distribution is known in closed form.</summary>
public sealed class BootstrapIntervalTests
{
    [Fact]
    public void ConstantValuesGiveAPointInterval()
    {
        var interval = BootstrapInterval.OfMean([0.7, 0.7, 0.7, 0.7], seed: 1);
        Assert.Equal(0.7, interval.Low, 12);
        Assert.Equal(0.7, interval.High, 12);
    }

    [Fact]
    public void TwoValuesSpanBothEndsAtNinetyFivePercent()
    {
        // Resampled means of {0, 1}: 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4, so the 2.5 % and 97.5 % quantiles are 0 and 1.
        var interval = BootstrapInterval.OfMean([0, 1], seed: 2, resamples: 10_000);
        Assert.Equal(0, interval.Low);
        Assert.Equal(1, interval.High);
    }

    [Fact]
    public void TwoValuesGiveTheMiddleAtFortyPercent()
    {
        // The 30 % and 70 % quantiles both fall inside the 1/2 mass at 0.5 (P(≤ 0) = 1/4, P(≤ 0.5) = 3/4).
        var interval = BootstrapInterval.OfMean([0, 1], seed: 3, level: 0.4, resamples: 10_000);
        Assert.Equal(0.5, interval.Low);
        Assert.Equal(0.5, interval.High);
    }

    [Fact]
    public void ABinaryMeanMatchesTheNormalApproximation()
    {
        // n = 400 jobs, half completed: the resampled mean is Binomial(400, 1/2)/400, sd 0.025, so the interval is about 0.5 ± 1.96·0.025.
        double[] values = [.. Enumerable.Repeat(1.0, 200), .. Enumerable.Repeat(0.0, 200)];
        var interval = BootstrapInterval.OfMean(values, seed: 4, resamples: 4000);
        Assert.Equal(0.5 - 1.96 * 0.025, interval.Low, 0.006);
        Assert.Equal(0.5 + 1.96 * 0.025, interval.High, 0.006);
    }

    [Fact]
    public void TheSameSeedGivesTheSameInterval()
    {
        double[] values = [0.1, 0.9, 0.4, 0.3, 0.8, 0.0];
        Assert.Equal(BootstrapInterval.OfMean(values, seed: 5), BootstrapInterval.OfMean(values, seed: 5));
    }

    [Fact]
    public void EmptyIsNaNAndBadSettingsThrow()
    {
        Assert.True(double.IsNaN(BootstrapInterval.OfMean([], seed: 6).Low));
        Assert.Throws<ArgumentOutOfRangeException>(() => BootstrapInterval.OfMean([1.0], seed: 6, level: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => BootstrapInterval.OfMean([1.0], seed: 6, resamples: 0));
    }
}
