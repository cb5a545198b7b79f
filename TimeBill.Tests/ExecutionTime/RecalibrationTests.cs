using TimeBill.Core.Planning;
using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Tests.ExecutionTime;

public class RecalibrationTests
{
    private static readonly ExecutionTimeCoefficients Profiled = new(
        new PrefillCost(2e-5, 0.15, 1.2), new DecodeStepCost(6 * 3e-4, 6 * 0.05 + 0.4), new LayeredDecodeStepCost(3e-4, 0.05, 0.4, 6));

    /// <summary>A model running on a <see cref="ManualClock"/> whose true costs are the profiled ones times <see cref="Slowdown"/>, with optional noise.</summary>
    private sealed class SimulatedModel(ManualClock clock, int seed, double noise)
    {
        private readonly Random _random = new(seed);
        public double Slowdown = 1;

        private double Jitter() => 1 + noise * (2 * _random.NextDouble() - 1);

        public void Prefill(int n) => clock.Advance(Slowdown * Profiled.Prefill.Milliseconds(n) * Jitter());

        public void Step(int kv, int layers) => clock.Advance(Slowdown * Profiled.LayeredStep.StepMilliseconds(kv, layers) * Jitter());
    }

    /// <summary>One generation as the library runs it: a timed prefill, then timed steps with a growing cache.</summary>
    private static void Generate(RecalibratingExecutionTimeEstimator estimator, SimulatedModel model, int nx, int steps, int? layers = null)
    {
        using (estimator.TimePrefill(nx)) model.Prefill(nx);
        for (int i = 1; i <= steps; i++)
            using (estimator.TimeDecodeStep(nx + i - 1, layers)) model.Step(nx + i - 1, layers ?? 6);
    }

    private static double WorstRelativeError(IExecutionTimeEstimator estimator, double slowdown)
    {
        double worst = 0;
        foreach (int n in new[] { 16, 128, 512, 1024, 2048 })
            worst = Math.Max(worst, Math.Abs(estimator.PrefillMilliseconds(n) / (slowdown * Profiled.Prefill.Milliseconds(n)) - 1));
        foreach (int kv in new[] { 16, 256, 1024, 3000 })
        {
            worst = Math.Max(worst, Math.Abs(estimator.DecodeStepMilliseconds(kv) / (slowdown * Profiled.Step.StepMilliseconds(kv)) - 1));
            foreach (int l in new[] { 1, 3 })
                worst = Math.Max(worst, Math.Abs(estimator.DecodeStepMilliseconds(kv, l) / (slowdown * Profiled.LayeredStep.StepMilliseconds(kv, l)) - 1));
        }
        return worst;
    }

    [Fact]
    public void AThirtyPercentSlowdownIsAbsorbedWithinAFewDozenObservations()
    {
        var clock = new ManualClock();
        var model = new SimulatedModel(clock, seed: 1, noise: 0);
        var estimator = new RecalibratingExecutionTimeEstimator(Profiled, clock: clock);
        var random = new Random(7);

        for (int g = 0; g < 20; g++) Generate(estimator, model, random.Next(16, 2048), steps: 4, layers: g % 3 == 0 ? 2 : null);
        Assert.True(WorstRelativeError(estimator, 1) < 1e-4, $"{WorstRelativeError(estimator, 1):P4}"); // exact model: nothing to correct

        model.Slowdown = 1.3;
        Assert.True(WorstRelativeError(estimator, 1.3) > 0.2);
        // λ = 0.95: after n observations the old regime keeps about 0.95^n of the weight.
        double after8 = Absorb(8), after24 = Absorb(16), after40 = Absorb(16);
        Assert.True(after8 < 0.20, $"after 8 generations: {after8:P2}");
        Assert.True(after24 < 0.08, $"after 24 generations: {after24:P2}");
        Assert.True(after40 < 0.03, $"after 40 generations (40 prefills, 160 steps): {after40:P2}");
        Assert.True(after8 > after24 && after24 > after40);

        double Absorb(int generations)
        {
            for (int g = 0; g < generations; g++) Generate(estimator, model, random.Next(16, 2048), steps: 4, layers: g % 2 == 0 ? 2 : null);
            return WorstRelativeError(estimator, 1.3);
        }
    }

    [Fact]
    public void APrefillsBlockAndChunkTermsAreRecalibratedWithTheRest()
    {
        var blocked = Profiled with { Prefill = new PrefillCost(2e-5, 0.15, 1.2, 4, 128, Chunk: 256) };
        var clock = new ManualClock();
        var estimator = new RecalibratingExecutionTimeEstimator(blocked, clock: clock);
        var random = new Random(3);
        for (int g = 0; g < 40; g++)
        {
            int n = random.Next(16, 2048);
            using (estimator.TimePrefill(n)) clock.Advance(1.3 * blocked.Prefill.Milliseconds(n));
        }
        Assert.Equal(128, estimator.Coefficients.Prefill.QueryBlock);
        Assert.Equal(256, estimator.Coefficients.Prefill.Chunk);
        foreach (int n in new[] { 16, 128, 129, 257, 700, 2048 })
            Assert.InRange(estimator.PrefillMilliseconds(n) / (1.3 * blocked.Prefill.Milliseconds(n)), 0.97, 1.03);
    }

    [Fact]
    public void ASpeedUpIsFollowedToo()
    {
        var clock = new ManualClock();
        var model = new SimulatedModel(clock, seed: 2, noise: 0) { Slowdown = 0.7 };
        var estimator = new RecalibratingExecutionTimeEstimator(Profiled, clock: clock);
        var random = new Random(8);
        for (int g = 0; g < 40; g++) Generate(estimator, model, random.Next(16, 2048), steps: 4, layers: g % 2 == 0 ? 3 : null);
        Assert.True(WorstRelativeError(estimator, 0.7) < 0.03, $"{WorstRelativeError(estimator, 0.7):P2}");
    }

    [Fact]
    public void StaysStableWithNoiseAndALongRunOfOneLength()
    {
        var clock = new ManualClock();
        var model = new SimulatedModel(clock, seed: 3, noise: 0.05);
        var estimator = new RecalibratingExecutionTimeEstimator(Profiled, clock: clock);
        var random = new Random(9);

        for (int g = 0; g < 300; g++)
        {
            // Long stretches of identical prompts excite one direction only; the estimate must not wind up.
            int nx = g is >= 100 and < 200 ? 512 : random.Next(16, 2048);
            Generate(estimator, model, nx, steps: 3, layers: g % 4 == 0 ? 1 : null);
            Assert.True(WorstRelativeError(estimator, 1) < 0.12, $"generation {g}: {WorstRelativeError(estimator, 1):P2}");
        }
        Assert.True(WorstRelativeError(estimator, 1) < 0.06, $"{WorstRelativeError(estimator, 1):P2}");
    }

    [Fact]
    public void ASingleStallMovesTheEstimateOnlyBoundedly()
    {
        var clock = new ManualClock();
        var estimator = new RecalibratingExecutionTimeEstimator(Profiled, clock: clock);
        estimator.ObserveDecodeStep(500, null, 100 * Profiled.Step.StepMilliseconds(500)); // a 100× GC pause
        double ratio = estimator.DecodeStepMilliseconds(500) / Profiled.Step.StepMilliseconds(500);
        Assert.InRange(ratio, 1, 1.5);
        Assert.All(new[] { estimator.Coefficients.Step.P, estimator.Coefficients.Step.Q }, c => Assert.True(c >= 0));
    }

    [Fact]
    public void BadObservationsAreRejected()
    {
        var estimator = new RecalibratingExecutionTimeEstimator(Profiled);
        Assert.Equal("milliseconds", Assert.Throws<ArgumentOutOfRangeException>(() => estimator.ObservePrefill(10, double.NaN)).ParamName);
        Assert.Equal("layers", Assert.Throws<ArgumentOutOfRangeException>(() => estimator.ObserveDecodeStep(10, 7, 1)).ParamName);
        Assert.Equal("forgettingFactor", Assert.Throws<ArgumentOutOfRangeException>(() => new RecalibratingExecutionTimeEstimator(Profiled, 1.5)).ParamName);
        Assert.Equal(0, estimator.Observations);
    }
}
