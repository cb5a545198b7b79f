using TimeBill.Core.Planning;

namespace TimeBill.Tests.Budget;

/// <summary>The closed-form α* of DESIGN.md against a brute-force search over α.</summary>
public sealed class BudgetPlannerTests
{
    private static double DecodeTime(DecodeStepCost step, int nx, int steps, double alpha) =>
        Enumerable.Range(1, steps).Sum(i => step.P * ((1 - alpha) * nx + i - 1) + step.Q);

    [Fact]
    public void ClosedFormEqualsBruteForceOverAlpha()
    {
        var random = new Random(1);
        for (int trial = 0; trial < 300; trial++)
        {
            var step = new DecodeStepCost(random.NextDouble() * 0.01, random.NextDouble() * 20);
            int nx = random.Next(1, 2048), nHat = random.Next(0, 300), nMax = random.Next(1, 1024);
            double k = 1 + random.NextDouble() * 7, alphaMax = 0.95, remaining = random.NextDouble() * 20000;

            var plan = BudgetPlanner.Plan(step, nx, nHat, nMax, remaining, k, alphaMax);
            int nw = Math.Min((int)Math.Ceiling(k * nHat), nMax);
            nw = Math.Max(nw, 1);
            Assert.Equal(nw, plan.WorstCaseLength);

            // Smallest α on a fine grid whose brute-force decode time fits.
            double? brute = null;
            for (int i = 0; i <= 95_000; i++)
            {
                double alpha = i * 1e-5;
                if (DecodeTime(step, nx, nw - 1, alpha) <= remaining) { brute = alpha; break; }
                if (step.P == 0 || nw <= 1) break;
            }
            if (brute is null)
            {
                Assert.False(plan.Feasible, $"trial {trial}: the search found no α but the plan is feasible");
                Assert.Equal(alphaMax, plan.EvictionRatio, 12);
            }
            else
            {
                Assert.True(plan.Feasible, $"trial {trial}: α = {brute} fits but the plan says infeasible");
                Assert.InRange(plan.EvictionRatio, brute.Value - 1e-5, brute.Value + 1e-9);
                Assert.True(DecodeTime(step, nx, nw - 1, plan.EvictionRatio) <= remaining * (1 + 1e-9) + 1e-9);
            }
            Assert.Equal(DecodeTime(step, nx, nw - 1, plan.EvictionRatio), plan.PredictedDecodeMilliseconds, 6);
        }
    }

    [Fact]
    public void GenerousBudgetEvictsNothingAndTightBudgetClampsAtAlphaMax()
    {
        var step = new DecodeStepCost(0.01, 5);
        Assert.Equal(0, BudgetPlanner.Plan(step, 1000, 50, 500, 1e9, 5, 0.95).EvictionRatio);
        var tight = BudgetPlanner.Plan(step, 1000, 50, 500, 1, 5, 0.95);
        Assert.False(tight.Feasible);
        Assert.Equal(0.95, tight.EvictionRatio);
    }

    [Fact]
    public void SingleTokenResponsesNeedNoDecodeSteps()
    {
        var plan = BudgetPlanner.Plan(new DecodeStepCost(1, 1), 100, 0, 1, 0, 5, 0.95);
        Assert.Equal((0.0, true, 1), (plan.EvictionRatio, plan.Feasible, plan.WorstCaseLength));
    }
}
