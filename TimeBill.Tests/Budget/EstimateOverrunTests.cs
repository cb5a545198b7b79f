using TimeBill.Core.Budget;

namespace TimeBill.Tests.Budget;

/// <summary>The overrun charge: the 99th percentile of recent misses, robust to a single stall.</summary>
public sealed class EstimateOverrunTests
{
    [Fact]
    public void BeforeAnyStepTheEstimateIsTheCharge()
    {
        var overrun = new EstimateOverrun();
        Assert.Equal(2.0, overrun.Charge(2.0));
        Assert.Equal(1.0, overrun.MeanFactor);
        Assert.Equal(10.0, overrun.Charge(10.0, 1.0));
    }

    [Fact]
    public void StepsThatMeetTheirEstimateAddNothingAndASlowMachineIsChargedItsSlowdown()
    {
        var overrun = new EstimateOverrun();
        for (int i = 0; i < 300; i++) overrun.Observe(1, 0.9);
        Assert.Equal(1.0, overrun.Charge(1.0));
        for (int i = 0; i < 300; i++) overrun.Observe(1, 1.5);
        Assert.Equal(1.5, overrun.Charge(1.0), 12);
        Assert.Equal(1.5, overrun.MeanFactor, 12);
        Assert.Equal(15.0, overrun.Charge(10.0, 1.0), 12); // no tail beyond the mean: every step at 1.5×
    }

    [Fact]
    public void OneStallMovesTheChargeByOneRankAndLeavesTheWindow()
    {
        var overrun = new EstimateOverrun();
        for (int i = 0; i < EstimateOverrun.Window; i++) overrun.Observe(1, 1 + (i % 100) / 100.0); // misses 0 … 0.99
        double before = overrun.Charge(1.0);
        overrun.Observe(1, 100); // a 100× stall
        Assert.InRange(overrun.Charge(1.0), before, 2.0);
        for (int i = 0; i < EstimateOverrun.Window; i++) overrun.Observe(1, 1.2);
        Assert.Equal(1.2, overrun.Charge(1.0), 12); // the stall and the older misses are forgotten
    }

    [Fact]
    public void SeveralStepsPayTheMeanEachAndOneTail()
    {
        var overrun = new EstimateOverrun();
        for (int i = 0; i < 200; i++) overrun.Observe(1, i % 50 == 0 ? 4 : 1); // 2 % of steps take 4×
        double mean = overrun.MeanFactor, tail = overrun.TailMiss;
        Assert.Equal(1 + 3.0 * 4 / 200, mean, 12);
        Assert.Equal(3.0, tail, 12);
        Assert.Equal(20 * mean + 2 * (tail - (mean - 1)), overrun.Charge(20, 2), 12);
        Assert.True(overrun.Charge(20, 2) < 20 * overrun.Charge(1.0)); // far below every step at its tail
    }

    [Fact]
    public void NonFiniteOrNonPositiveObservationsAreIgnored()
    {
        var overrun = new EstimateOverrun();
        overrun.Observe(0, 5);
        overrun.Observe(1, double.NaN);
        overrun.Observe(1, double.PositiveInfinity);
        overrun.Observe(double.NaN, 1);
        Assert.Equal(1.0, overrun.MeanFactor);
        Assert.Equal(3.0, overrun.Charge(3.0));
    }
}
