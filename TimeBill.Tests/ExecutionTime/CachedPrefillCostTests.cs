using TimeBill.Core.Planning;
using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Tests.ExecutionTime;

/// <summary>
/// The prefill of new tokens after a cached prefix: <c>t(Nc, Nn) = A·Nn² + G·Nn + H + K·min(Nn, 64) + D·⌈Nn / block⌉ + E·Nc·Nn + F·Nc</c>,
/// its closed form, its fit from profiled warm prefills and the profiler that measures them.
/// </summary>
public sealed class CachedPrefillCostTests
{
    [Fact]
    public void NothingCachedIsTheColdCurveAndTheDefaultCrossTermIsTwiceTheAttentionTerm()
    {
        var cost = new PrefillCost(A: 1e-4, B: 0.2, C: 3, D: 1.5, QueryBlock: 128);
        Assert.Equal(cost.Milliseconds(300), cost.Milliseconds(0, 300), 12);
        // (Nc + Nn)² − Nc² = Nn² + 2·Nc·Nn: with E = 2A the cached keys cost what the same keys cost in a cold prefill.
        Assert.Equal(cost.Milliseconds(300) + 2 * 1e-4 * 1000 * 300, cost.Milliseconds(1000, 300), 9);
        var fitted = cost with { E = 3e-4, F = 0.01 };
        Assert.Equal(cost.Milliseconds(50) + 3e-4 * 1000 * 50 + 0.01 * 1000, fitted.Milliseconds(1000, 50), 9);
        Assert.Equal(fitted.Milliseconds(1000, 50) * 2, fitted.Scaled(2).Milliseconds(1000, 50), 9);
        // A prefill that continues a cache has its own per-token and fixed cost; with nothing cached it is the cold curve.
        var own = fitted with { G = 0.1, H = 1 };
        Assert.Equal(1e-4 * 50 * 50 + 0.1 * 50 + 1 + 1.5 + 3e-4 * 1000 * 50 + 0.01 * 1000, own.Milliseconds(1000, 50), 9);
        Assert.Equal(cost.Milliseconds(300), own.Milliseconds(0, 300), 12);
        Assert.Equal(own.Milliseconds(1000, 50) * 2, own.Scaled(2).Milliseconds(1000, 50), 9);
        // The first 64 new tokens cost K more each; a cold prefill never pays it.
        var short64 = own with { K = 0.05 };
        Assert.Equal(own.Milliseconds(1000, 50) + 0.05 * 50, short64.Milliseconds(1000, 50), 9);
        Assert.Equal(own.Milliseconds(1000, 200) + 0.05 * 64, short64.Milliseconds(1000, 200), 9);
        Assert.Equal(cost.Milliseconds(300), short64.Milliseconds(0, 300), 12);
        Assert.Equal(short64.Milliseconds(1000, 50) * 2, short64.Scaled(2).Milliseconds(1000, 50), 9);
        Assert.Throws<ArgumentOutOfRangeException>(() => cost.Milliseconds(-1, 5));
    }

    [Fact]
    public void TheFitRecoversTheWarmTermsAndLeavesTheColdCurveAlone()
    {
        // Warm prefills cheaper per new token and in their fixed part than cold ones of the same length: the fit must not
        // hold them to the cold curve.
        var truth = new PrefillCost(2e-5, 0.15, 1.2, E: 5e-5, F: 2e-3, G: 0.12, H: 0.5, K: 0.03);
        var cold = new[] { 8, 64, 128, 256, 400, 512 }.Select((n, i) => new PrefillMeasurement(n, truth.Milliseconds(n), [truth.Milliseconds(n)], HeldOut: i == 2)).ToList();
        var warm = (from c in new[] { 16, 192, 384 } from n in new[] { 16, 64, 128 }
                    select new PrefillMeasurement(n, truth.Milliseconds(c, n), [truth.Milliseconds(c, n)], HeldOut: c == 192 && n == 64, CachedLength: c)).ToList();
        var steps = new[] { 1, 100, 200, 400 }.Select(kv => new DecodeStepMeasurement(kv, 2, 0.01 * kv + 1, [0.01 * kv + 1], false)).ToList();
        var fit = ExecutionTimeFitter.Fit(new ExecutionTimeMeasurements(2, [.. cold, .. warm], steps));

        var k = fit.Coefficients.Prefill;
        Assert.Equal(truth.A, k.A, 1e-9);
        Assert.Equal(truth.B, k.B, 1e-6);
        Assert.Equal(truth.C, k.C, 1e-5);
        Assert.Equal(5e-5, k.E!.Value, 1e-9);
        Assert.Equal(2e-3, k.F, 1e-7);
        Assert.Equal(0.12, k.G!.Value, 1e-6);
        Assert.Equal(0.5, k.H!.Value, 1e-5);
        Assert.Equal(0.03, k.K, 1e-6);
        var quality = Assert.IsType<FitQuality>(fit.CachedPrefill);
        Assert.Equal(1, quality.HeldOutPoints);
        Assert.True(quality.HeldOutMapePercent < 1e-3);

        // Too few warm points for their own per-token and fixed terms: only the cross terms, over the cold curve's.
        var few = warm.Where(m => m.PromptLength != 16).Take(4).ToList();
        var sparse = ExecutionTimeFitter.Fit(new ExecutionTimeMeasurements(2, [.. cold, .. few], steps)).Coefficients.Prefill;
        Assert.Null(sparse.G);
        Assert.Null(sparse.H);
        Assert.NotNull(sparse.E);

        var coldOnly = ExecutionTimeFitter.Fit(new ExecutionTimeMeasurements(2, cold, steps));
        Assert.Null(coldOnly.CachedPrefill);
        Assert.Null(coldOnly.Coefficients.Prefill.E);
        Assert.Null(coldOnly.Coefficients.Prefill.G);
    }

    [Fact]
    public void EveryCachedAndEveryNewLengthOfTheWarmGridIsBothFittedAndHeldOut()
    {
        foreach (int count in new[] { 3, 4, 5 })
        {
            var grid = ExecutionTimeProfiler.CachedPrefillGrid(2048, 4096, count);
            Assert.Equal(count * count, grid.Length);
            var held = Enumerable.Range(0, grid.Length).Where(i => ExecutionTimeProfiler.IsWarmHeldOut(grid, i, every: 3)).ToHashSet();
            var fitted = Enumerable.Range(0, grid.Length).Where(i => !held.Contains(i)).ToList();
            Assert.True(fitted.Count >= 6, $"{count}×{count}: {fitted.Count} fitting points");
            foreach (var lengths in new Func<(int Cached, int New), int>[] { p => p.Cached, p => p.New })
            {
                var all = grid.Select(lengths).Distinct().ToList();
                if (count > 3) Assert.Equal(all.Order(), held.Select(i => lengths(grid[i])).Distinct().Order());
                Assert.Equal(all.Order(), fitted.Select(i => lengths(grid[i])).Distinct().Order());
            }
            int maxC = grid.Max(p => p.Cached), maxN = grid.Max(p => p.New), minC = grid.Min(p => p.Cached), minN = grid.Min(p => p.New);
            Assert.DoesNotContain(held, i => (grid[i].Cached == minC || grid[i].Cached == maxC) && (grid[i].New == minN || grid[i].New == maxN));
        }
    }

    [Fact]
    public void TheProfilerTimesWarmPrefillsAfterPreparingTheirPrefixesUntimed()
    {
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock) { CachedPrefill = true };
        var options = new ExecutionTimeProfilerOptions
        {
            MaxPromptLength = 512, PrefillGridPoints = 8, KvGridPoints = 4, LayerGridPoints = 2,
            PrefillRepetitions = 3, DecodeRepetitions = 3, WarmUpRounds = 1, WarmUpSteps = 1, ShortPointTime = TimeSpan.Zero,
        };
        var profile = new ExecutionTimeProfiler(clock).Run(target, options);

        var warm = profile.Measurements.Prefill.Where(m => m.CachedLength > 0).ToList();
        Assert.Equal(16, warm.Count); // 4 cached × 4 new lengths
        Assert.All(warm, m => Assert.Equal(0, m.CachedLength % 16));
        Assert.All(warm, m => Assert.True(m.CachedLength + m.PromptLength <= 512));
        Assert.Equal(target.E, profile.Coefficients.Prefill.E!.Value, 1e-9);
        Assert.Equal(target.F, profile.Coefficients.Prefill.F, 1e-6);
        Assert.Equal(target.WarmPerToken, profile.Coefficients.Prefill.G!.Value, 1e-6);
        Assert.Equal(target.WarmFixed, profile.Coefficients.Prefill.H!.Value, 1e-5);
        Assert.Equal(5, profile.Fit.CachedPrefill!.HeldOutPoints);
        Assert.True(profile.Fit.CachedPrefill!.HeldOutMapePercent < 1e-3);

        var otherClock = new ManualClock();
        var coldOnly = new ExecutionTimeProfiler(otherClock).Run(new FakeProfilingTarget(otherClock) { CachedPrefill = true }, options with { CachedPrefillGridPoints = 0 });
        Assert.DoesNotContain(coldOnly.Measurements.Prefill, m => m.CachedLength > 0);
    }

    [Fact]
    public void AProfileWrittenBeforeWarmPrefillsReadsAsColdOnly()
    {
        var measurement = System.Text.Json.JsonSerializer.Deserialize<PrefillMeasurement>(
            """{"PromptLength":64,"Milliseconds":3.5,"SamplesMilliseconds":[3.5],"HeldOut":false}""");
        Assert.Equal(0, measurement!.CachedLength);
    }
}
