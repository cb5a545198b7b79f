using TimeBill.Core.Planning;

namespace TimeBill.Tests.Budget;

/// <summary>k from a predictor's errors: the smallest k with at most a share ε of responses longer than k·N̂.</summary>
public sealed class PessimismCalibrationTests
{
    [Fact]
    public void KIsTheSmallestFactorThatLeavesAtMostEpsilonAbove()
    {
        // Ratios actual/N̂: 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5 (N̂ = 10, 20 or 0 → 1).
        double[] predicted = [10, 10, 10, 10, 10, 10, 10, 10, 20, 0];
        int[] actual = [5, 10, 15, 20, 25, 30, 35, 40, 90, 5];
        Assert.Equal(5, PessimismCalibration.FromExceedance(predicted, actual, 0));     // nothing above
        Assert.Equal(4.5, PessimismCalibration.FromExceedance(predicted, actual, 0.1)); // one of ten above
        Assert.Equal(4, PessimismCalibration.FromExceedance(predicted, actual, 0.2));
        Assert.Equal(4, PessimismCalibration.FromExceedance(predicted, actual, 0.25)); // 2.5 of ten: two may be above
        Assert.Equal(1, PessimismCalibration.FromExceedance([10, 10], [1, 2], 0.05)); // never below 1
    }

    [Fact]
    public void TheChosenKMeetsTheExceedanceAndNoSmallerOneDoes()
    {
        var random = new Random(3);
        double[] predicted = Enumerable.Range(0, 500).Select(_ => 20 + random.NextDouble() * 200).ToArray();
        int[] actual = predicted.Select(p => (int)(p * Math.Exp(random.NextDouble() * 1.6 - 0.6))).ToArray();
        foreach (double epsilon in new[] { 0.01, 0.05, 0.2 })
        {
            double k = PessimismCalibration.FromExceedance(predicted, actual, epsilon);
            double Share(double factor) => predicted.Zip(actual).Count(x => x.Second > factor * Math.Max(x.First, 1)) / (double)predicted.Length;
            Assert.True(Share(k) <= epsilon, $"ε = {epsilon}: {Share(k)} above k = {k}");
            Assert.True(Share(k - 1e-9) > epsilon, $"ε = {epsilon}: a smaller k also fits");
        }
    }

    [Fact]
    public void BadInputIsRejected()
    {
        Assert.Throws<ArgumentException>(() => PessimismCalibration.FromExceedance([1], [1, 2]));
        Assert.Throws<ArgumentException>(() => PessimismCalibration.FromExceedance([], []));
        Assert.Throws<ArgumentOutOfRangeException>(() => PessimismCalibration.FromExceedance([1], [1], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PessimismCalibration.FromExceedance([double.NaN], [1]));
    }
}
