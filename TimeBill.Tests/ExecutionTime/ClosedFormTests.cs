using TimeBill.Core.Planning;
using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Tests.ExecutionTime;

public class ClosedFormTests
{
    private static double BruteSteps(DecodeStepCost c, double kv0, int n)
    {
        double s = 0;
        for (int i = 1; i <= n; i++) s += c.P * (kv0 + i - 1) + c.Q;
        return s;
    }

    [Fact]
    public void SumOfStepsMatchesTheBruteForceSum()
    {
        var random = new Random(1);
        for (int t = 0; t < 500; t++)
        {
            var c = new DecodeStepCost(random.NextDouble() * 0.01, random.NextDouble() * 5);
            double kv0 = random.NextDouble() * 3000;
            int n = random.Next(0, 600);
            double brute = BruteSteps(c, kv0, n);
            Assert.Equal(brute, c.StepsMilliseconds(kv0, n), Math.Max(1e-9, brute * 1e-12));
        }
    }

    [Fact]
    public void MaxStepsWithinIsTheLargestCountWhoseBruteForceSumFits()
    {
        var random = new Random(2);
        var cases = new List<(DecodeStepCost, double, double)>
        {
            (new DecodeStepCost(0, 2), 100, 7),          // p = 0: floor(budget / q)
            (new DecodeStepCost(0.5, 0), 0, 10),         // q = 0, kv0 = 0: the first step costs nothing
            (new DecodeStepCost(0.01, 1), 0.2, 1),        // exactly one step fits (1.002 > 1 → 0)
            (new DecodeStepCost(1, 1), 10, 11),          // exactly one step: 11
        };
        for (int t = 0; t < 400; t++)
            cases.Add((new DecodeStepCost(random.NextDouble() * 0.02, random.NextDouble() * 3 + 0.01), random.NextDouble() * 2000, random.NextDouble() * 5000));

        foreach (var (c, kv0, budget) in cases)
        {
            // Add steps one at a time until the next one no longer fits.
            int expected = 0;
            double total = 0;
            while (total + c.StepMilliseconds(kv0 + expected) <= budget) total += c.StepMilliseconds(kv0 + expected++);
            Assert.Equal(expected, c.MaxStepsWithin(budget, kv0));
        }
    }

    [Fact]
    public void MaxStepsWithinHandlesEmptyAndFreeBudgets()
    {
        Assert.Equal(0, new DecodeStepCost(1, 1).MaxStepsWithin(0, 5));
        Assert.Equal(0, new DecodeStepCost(1, 1).MaxStepsWithin(-3, 5));
        Assert.Equal(int.MaxValue, new DecodeStepCost(0, 0).MaxStepsWithin(10, 5));
        Assert.Throws<ArgumentException>(() => new DecodeStepCost(1, 1).MaxStepsWithin(double.NaN, 5));
    }

    [Fact]
    public void PrefillWithABlockTermAddsDOncePerStartedBlock()
    {
        var plain = new PrefillCost(2e-5, 0.3, 4);
        var blocked = plain with { D = 1.5, QueryBlock = 128 };
        foreach (int n in new[] { 0, 1, 127, 128, 129, 256, 257, 2048 })
        {
            int blocks = 0;
            for (int start = 0; start < n; start += 128) blocks++; // the prefill's loop over query blocks
            Assert.Equal(plain.Milliseconds(n) + 1.5 * blocks, blocked.Milliseconds(n), 1e-9);
        }
        Assert.Equal(plain.Milliseconds(700), (plain with { D = 1.5 }).Milliseconds(700)); // no block size, no term
        var scaled = blocked.Scaled(1.3);
        Assert.Equal(1.3 * blocked.Milliseconds(300), scaled.Milliseconds(300), 1e-9);
        Assert.Equal(128, scaled.QueryBlock);
    }

    [Fact]
    public void PrefillInEqualChunksPaysCOncePerChunkAndEachChunkItsOwnBlocks()
    {
        var chunked = new PrefillCost(2e-5, 0.3, 4, D: 1.5, QueryBlock: 128, Chunk: 192);
        foreach (int n in new[] { 0, 1, 128, 191, 192, 193, 320, 384, 385, 1000 })
        {
            int calls = Math.Max(1, (n + 191) / 192), blocks = 0;
            for (int i = 0; i < calls; i++) // the engine's equal chunks, each in query blocks
                for (int b = 0; b < n / calls + (i < n % calls ? 1 : 0); b += 128) blocks++;
            Assert.Equal(2e-5 * n * n + 0.3 * n + 4 * calls + 1.5 * blocks, chunked.Milliseconds(n), 1e-9);
        }
        // After a cached prefix the chunks are those of the new tokens: 134 + 133 + 133, two blocks each.
        var warm = chunked with { G = 0.2, H = 2, E = 1e-4, F = 0.01 };
        Assert.Equal(2e-5 * 400 * 400 + 0.2 * 400 + 2 * 3 + 1.5 * 6 + (1e-4 * 400 + 0.01) * 100, warm.Milliseconds(100, 400), 1e-9);
        Assert.Equal(192, chunked.Scaled(1.3).Chunk);
        Assert.Equal(1.3 * chunked.Milliseconds(500), chunked.Scaled(1.3).Milliseconds(500), 1e-9);
    }

    [Fact]
    public void WorstCaseLengthIsKTimesPredictionCappedByMax()
    {
        Assert.Equal(50, WorstCaseResponseLength.Compute(10, 5, 512));
        Assert.Equal(512, WorstCaseResponseLength.Compute(200, 5, 512));
        Assert.Equal(1, WorstCaseResponseLength.Compute(0, 5, 512));
        Assert.Equal(0, WorstCaseResponseLength.Compute(3, 5, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => WorstCaseResponseLength.Compute(3, 0.5, 10));
    }

    [Fact]
    public void WorstCaseEndToEndIsPrefillPlusNwMinusOneStepsByBruteForce()
    {
        var k = new ExecutionTimeCoefficients(new PrefillCost(2e-5, 0.3, 4), new DecodeStepCost(0.002, 1.5),
            new LayeredDecodeStepCost(0.0004, 0.2, 0.5, 5));
        var estimator = new ExecutionTimeEstimator(k);
        int nx = 700, nHat = 40, nMax = 256;
        double alpha = 0.3;
        int nw = Math.Min(5 * nHat, nMax);

        double brute = 2e-5 * nx * nx + 0.3 * nx + 4;
        for (int i = 1; i <= nw - 1; i++) brute += 0.002 * ((1 - alpha) * nx + i - 1) + 1.5;

        Assert.Equal(brute, estimator.WorstCaseEndToEndMilliseconds(nx, alpha, nHat, 5, nMax), 1e-9);
        Assert.Equal(brute - estimator.PrefillMilliseconds(nx), estimator.DecodeMilliseconds(nx, alpha, nw - 1), 1e-9);
    }

    [Fact]
    public void LayerAwareStepIsPerLayerCostTimesDepthPlusHead()
    {
        var layered = new LayeredDecodeStepCost(P1: 0.001, Q1: 0.4, H: 0.7, LayerCount: 6);
        var k = new ExecutionTimeCoefficients(new PrefillCost(0, 1, 0), new DecodeStepCost(0.006, 3.1), layered);
        var estimator = new ExecutionTimeEstimator(k);

        Assert.Equal(3 * (0.001 * 100 + 0.4) + 0.7, estimator.DecodeStepMilliseconds(100, 3), 1e-12);
        Assert.Equal(0.006 * 100 + 3.1, estimator.DecodeStepMilliseconds(100), 1e-12);

        double brute = 0;
        for (int i = 1; i <= 30; i++) brute += 2.5 * (0.001 * (0.5 * 200 + i - 1) + 0.4) + 0.7;
        Assert.Equal(brute, estimator.DecodeMilliseconds(200, 0.5, 30, layersPerToken: 2.5), 1e-9);

        int n = estimator.MaxDecodeStepsWithin(50, 200, 0.5, layersPerToken: 2.5);
        Assert.True(estimator.DecodeMilliseconds(200, 0.5, n, 2.5) <= 50);
        Assert.True(estimator.DecodeMilliseconds(200, 0.5, n + 1, 2.5) > 50);
        Assert.Throws<ArgumentOutOfRangeException>(() => estimator.DecodeStepMilliseconds(10, 7));
    }

    [Fact]
    public void BadArgumentsNameTheParameter()
    {
        var estimator = new ExecutionTimeEstimator(new ExecutionTimeCoefficients(new PrefillCost(0, 1, 0),
            new DecodeStepCost(0, 1), new LayeredDecodeStepCost(0, 0.2, 0, 5)));
        Assert.Equal("evictionRatio", Assert.Throws<ArgumentOutOfRangeException>(() => estimator.DecodeMilliseconds(10, 1.5, 3)).ParamName);
        Assert.Equal("promptLength", Assert.Throws<ArgumentOutOfRangeException>(() => estimator.PrefillMilliseconds(-1)).ParamName);
        Assert.Equal("steps", Assert.Throws<ArgumentOutOfRangeException>(() => estimator.DecodeMilliseconds(10, 0, -1)).ParamName);
    }
}
