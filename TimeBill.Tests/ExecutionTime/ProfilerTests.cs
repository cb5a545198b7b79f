using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Tests.ExecutionTime;

public class ProfilerTests
{
    private static readonly ExecutionTimeProfilerOptions Small = new()
    {
        MaxPromptLength = 512, PrefillGridPoints = 12, KvGridPoints = 8, LayerGridPoints = 3,
        PrefillRepetitions = 3, DecodeRepetitions = 3, WarmUpRounds = 2, WarmUpSteps = 1, ShortPointTime = TimeSpan.Zero,
    };

    /// <summary>Calls of <see cref="Small"/>'s warm-up: per round two prefills and one step at each of three depths, then one prefill per grid length.</summary>
    private static readonly int SmallWarmUpCalls = Small.WarmUpRounds * (2 + 3) + Small.PrefillGridPoints;

    [Fact]
    public void RecoversTheCoefficientsOfAModelWithKnownCosts()
    {
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock);
        var profile = new ExecutionTimeProfiler(clock).Run(target, Small);
        var k = profile.Coefficients;

        Assert.Equal(target.A, k.Prefill.A, 1e-9);
        Assert.Equal(target.B, k.Prefill.B, 1e-6);
        Assert.Equal(target.C, k.Prefill.C, 1e-4);
        Assert.Equal(target.P1, k.LayeredStep.P1, 1e-9);
        Assert.Equal(target.Q1, k.LayeredStep.Q1, 1e-6);
        Assert.Equal(target.H, k.LayeredStep.H, 1e-5);
        Assert.Equal(6 * target.P1, k.Step.P, 1e-9);
        Assert.Equal(6 * target.Q1 + target.H, k.Step.Q, 1e-5);
        Assert.True(profile.Fit.Prefill.HeldOutPoints > 0 && profile.Fit.Step.HeldOutPoints > 0);
        Assert.True(profile.Fit.Prefill.HeldOutMapePercent < 1e-3);
        Assert.Equal(new ProfileKey("fake-llama-L6", "float32", 2, MachineDescription.Current()), profile.Key);
    }

    [Fact]
    public void WarmsUpFirstRepeatsEveryPointAndMeasuresInShuffledOrder()
    {
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock);
        var profile = new ExecutionTimeProfiler(clock).Run(target, Small);

        var measured = target.Calls.Skip(SmallWarmUpCalls).ToList();
        var prefills = measured.Where(c => c.Kind == "prefill").Select(c => c.Length).ToList();
        Assert.All(profile.Measurements.Prefill, m => Assert.Equal(Small.PrefillRepetitions, prefills.Count(n => n == m.PromptLength)));
        Assert.All(profile.Measurements.DecodeSteps, m => Assert.Equal(Small.DecodeRepetitions, m.SamplesMilliseconds.Count));
        Assert.NotEqual(prefills.Order().ToList(), prefills);     // not ascending
        Assert.NotEqual(prefills.OrderDescending().ToList(), prefills);
        Assert.Contains(profile.Measurements.DecodeSteps, m => m.Layers == 1);
        Assert.Contains(profile.Measurements.DecodeSteps, m => m.Layers == 6);
        Assert.Equal(512, profile.Measurements.Prefill.Max(m => m.PromptLength));
        Assert.False(profile.Measurements.Prefill[0].HeldOut);
        Assert.False(profile.Measurements.Prefill[^1].HeldOut);

        // Same seed, same order: a run is reproducible.
        var otherClock = new ManualClock();
        var again = new FakeProfilingTarget(otherClock);
        new ExecutionTimeProfiler(otherClock).Run(again, Small);
        Assert.Equal(target.Calls, again.Calls);
    }

    [Fact]
    public void MediansIgnoreOccasionalStalls()
    {
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock);
        int calls = 0;
        target.OnCall = () => { if (++calls % 7 == 0) clock.Advance(50); }; // a stall every 7th call
        var profile = new ExecutionTimeProfiler(clock).Run(target, Small with { PrefillRepetitions = 5, DecodeRepetitions = 5 });
        Assert.True(profile.Fit.Prefill.HeldOutMapePercent < 1e-3, $"prefill MAPE {profile.Fit.Prefill.HeldOutMapePercent}");
        Assert.True(profile.Fit.Step.HeldOutMapePercent < 1e-3, $"step MAPE {profile.Fit.Step.HeldOutMapePercent}");
    }

    [Fact]
    public void TheMinimumStatisticKeepsTheFastestRepetition()
    {
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock);
        var seen = new HashSet<(string, int, int)>();
        target.OnCall = () => { if (!seen.Add(target.Calls[^1])) clock.Advance(5); }; // every repetition but the first is slowed by a neighbour
        var profile = new ExecutionTimeProfiler(clock).Run(target, Small with { Statistic = SampleStatistic.Minimum, WarmUpRounds = 0 });

        Assert.Equal(SampleStatistic.Minimum, profile.Measurements.Statistic);
        Assert.All(profile.Measurements.Prefill, m => Assert.Equal(m.SamplesMilliseconds.Min(), m.Milliseconds));
        Assert.Equal(target.A, profile.Coefficients.Prefill.A, 1e-9);
        Assert.Equal(target.C, profile.Coefficients.Prefill.C, 1e-4);
        Assert.Equal(target.H, profile.Coefficients.LayeredStep.H, 1e-5);
    }

    [Fact]
    public void ReportsProgressUpToTheTotalAndCanBeCancelled()
    {
        var clock = new ManualClock();
        var reports = new List<ProfilingProgress>();
        new ExecutionTimeProfiler(clock).Run(new FakeProfilingTarget(clock), Small, new SyncProgress(reports.Add));
        var timed = reports.Where(r => r.Phase != ProfilingPhase.Fitting).ToList();
        Assert.Equal(Enumerable.Range(1, timed.Count), timed.Select(r => r.Completed));
        Assert.Equal(timed[0].Total, timed.Count);
        Assert.Equal(ProfilingPhase.Fitting, reports[^1].Phase);

        using var cts = new CancellationTokenSource();
        var target = new FakeProfilingTarget(clock);
        target.OnCall = () => { if (target.Calls.Count == 20) cts.Cancel(); };
        Assert.ThrowsAny<OperationCanceledException>(() => new ExecutionTimeProfiler(clock).Run(target, Small, null, cts.Token));
        Assert.Equal(20, target.Calls.Count);
    }

    [Fact]
    public void DecodeSamplesAreBatchesOfStepsAtOneLengthAndPrefillsAndStepsInterleave()
    {
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock);
        var profile = new ExecutionTimeProfiler(clock).Run(target, Small);

        // The warm-up's full step takes ~1.6 ms on the fake, so ~4 ms of steps is a batch of 3.
        Assert.Equal(3, profile.Measurements.StepsPerSample);
        var measured = target.Calls.Skip(SmallWarmUpCalls).ToList();
        Assert.All(profile.Measurements.DecodeSteps, m =>
            Assert.Equal(3 * Small.DecodeRepetitions, measured.Count(c => c == ("step", m.KvLength, m.Layers))));
        int lastPrefill = measured.FindLastIndex(c => c.Kind == "prefill");
        int firstStep = measured.FindIndex(c => c.Kind == "step");
        Assert.True(firstStep < lastPrefill, "prefill and decode samples should be measured in one shuffled sequence");

        var single = new FakeProfilingTarget(clock);
        var one = new ExecutionTimeProfiler(clock).Run(single, Small with { StepsPerSample = 1 });
        Assert.Equal(1, one.Measurements.StepsPerSample);
        Assert.Equal(one.Measurements.DecodeSteps.Count * Small.DecodeRepetitions,
            single.Calls.Skip(SmallWarmUpCalls).Count(c => c.Kind == "step"));
    }

    [Fact]
    public void TheDefaultGridsHoldOutAtLeastFivePointsPerCurveThatTheFitNeverSees()
    {
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock);
        var profile = new ExecutionTimeProfiler(clock).Run(target, new ExecutionTimeProfilerOptions { MaxPromptLength = 512, WarmUpRounds = 1 });
        Assert.True(profile.Fit.Prefill.HeldOutPoints >= 5, $"{profile.Fit.Prefill.HeldOutPoints} held-out prefill points");
        Assert.True(profile.Fit.Step.HeldOutPoints >= 5, $"{profile.Fit.Step.HeldOutPoints} held-out step points");
        Assert.True(profile.Fit.LayeredStep.HeldOutPoints >= 5);
        // Held-out points lie between fitted ones, never at the ends of a grid.
        var prefill = profile.Measurements.Prefill;
        Assert.False(prefill[0].HeldOut || prefill[^1].HeldOut);
        Assert.All(prefill.Select((m, i) => (m, i)).Where(p => p.m.HeldOut), p => Assert.False(prefill[p.i - 1].HeldOut || prefill[p.i + 1].HeldOut));

        // Moving only the held-out points does not move the fit: they never enter it.
        var moved = profile.Measurements with
        {
            Prefill = prefill.Select(m => m.HeldOut ? m with { Milliseconds = m.Milliseconds * 3 } : m).ToList(),
            DecodeSteps = profile.Measurements.DecodeSteps.Select(m => m.HeldOut ? m with { Milliseconds = m.Milliseconds * 3 } : m).ToList(),
        };
        Assert.Equal(profile.Coefficients, ExecutionTimeFitter.Fit(moved).Coefficients);
    }

    [Fact]
    public void LongCallsGetFewerSamplesAndUnsettledPointsGetMoreSamples()
    {
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock) { A = 0.02 }; // prefills of 512 tokens take ~5 s
        var profile = new ExecutionTimeProfiler(clock).Run(target, Small with { PrefillRepetitions = 5, LongCallMilliseconds = 2000, LongCallRepetitions = 3 });
        Assert.All(profile.Measurements.Prefill, m =>
            Assert.Equal(m.SamplesMilliseconds[0] > 2000 ? 3 : 5, m.SamplesMilliseconds.Count));
        Assert.Contains(profile.Measurements.Prefill, m => m.SamplesMilliseconds.Count == 3);

        // A neighbour slows the first three prefills of 8 tokens by 40 ms: after five samples the median is still
        // slowed, so the point takes two more at a time (up to twice its repetitions) until the median is clean.
        var noisyClock = new ManualClock();
        var noisy = new FakeProfilingTarget(noisyClock);
        int slowed = 0;
        noisy.OnCall = () => { if (noisy.Calls[^1] is ("prefill", 8, _) && noisy.Calls.Count > SmallWarmUpCalls && slowed++ < 3) noisyClock.Advance(40); };
        var settled = new ExecutionTimeProfiler(noisyClock).Run(noisy, Small with { PrefillRepetitions = 5 });
        var shortest = settled.Measurements.Prefill[0];
        Assert.Equal(7, shortest.SamplesMilliseconds.Count);
        Assert.Equal(noisy.A * 64 + noisy.B * 8 + noisy.C, shortest.Milliseconds, 1e-6);
        Assert.All(settled.Measurements.Prefill.Skip(1), m => Assert.Equal(5, m.SamplesMilliseconds.Count));
    }

    [Fact]
    public void ATimeBudgetCutsLaterRepetitionsCheapestFirstButEveryPointIsMeasured()
    {
        var clock = new ManualClock();
        var unlimited = new ExecutionTimeProfiler(clock).Run(new FakeProfilingTarget(clock), Small);
        var budget = TimeSpan.FromSeconds(unlimited.ProfilingSeconds / 2);
        var limitedClock = new ManualClock();
        var profile = new ExecutionTimeProfiler(limitedClock).Run(new FakeProfilingTarget(limitedClock), Small with { TimeBudget = budget });

        Assert.True(profile.ProfilingSeconds <= budget.TotalSeconds, $"{profile.ProfilingSeconds} s > {budget.TotalSeconds} s");
        var counts = profile.Measurements.Prefill.Select(m => m.SamplesMilliseconds.Count)
            .Concat(profile.Measurements.DecodeSteps.Select(m => m.SamplesMilliseconds.Count)).ToList();
        Assert.All(counts, c => Assert.InRange(c, 1, 3));
        Assert.Contains(counts, c => c < 3);
        // Prefills are cheap next to preparing a fake cache (a second), so they keep all their repetitions.
        Assert.All(profile.Measurements.Prefill, m => Assert.Equal(3, m.SamplesMilliseconds.Count));
    }

    [Fact]
    public void WarmUpLastsAtLeastItsTimeAndTheProgressTotalFollows()
    {
        // A fake round (two prefills, three steps each behind a one-second cache fill) takes about 3.8 s: two rounds are
        // not 10 s yet, so a third runs; then measuring starts.
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock);
        var reports = new List<ProfilingProgress>();
        new ExecutionTimeProfiler(clock).Run(target, Small with { WarmUpTime = TimeSpan.FromSeconds(10) }, new SyncProgress(reports.Add));
        var warmUp = reports.Where(r => r.Phase == ProfilingPhase.WarmUp).ToList();
        Assert.Equal(3 * (2 + 3) + Small.PrefillGridPoints, warmUp.Count);
        Assert.Equal(3 + 1, target.Calls.Take(warmUp.Count).Count(c => c == ("prefill", 8, 6)));
        var timed = reports.Where(r => r.Phase != ProfilingPhase.Fitting).ToList();
        Assert.Equal(timed.Count, timed[^1].Total);
        Assert.Equal(Enumerable.Range(1, timed.Count), timed.Select(r => r.Completed));
    }

    [Fact]
    public void WarmUpEndsWithOnePrefillOfEveryGridLengthLongestFirst()
    {
        // The first prefill of a new length pays for native memory the process has not used yet; none of that may
        // land in a sample.
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock);
        var profile = new ExecutionTimeProfiler(clock).Run(target, Small);
        var grid = profile.Measurements.Prefill.Select(m => m.PromptLength).ToList();
        Assert.Equal(Small.PrefillGridPoints, grid.Count);
        var pass = target.Calls.Skip(Small.WarmUpRounds * (2 + 3)).Take(grid.Count).ToList();
        Assert.Equal(grid.OrderDescending().Select(n => ("prefill", n, 6)), pass);

        var cold = new FakeProfilingTarget(clock);
        new ExecutionTimeProfiler(clock).Run(cold, Small with { WarmUpRounds = 0 });
        Assert.Equal(Small.PrefillRepetitions * grid.Count, cold.Calls.Count(c => c.Kind == "prefill")); // no warm-up, no pass
    }

    [Fact]
    public void ShortPointsGetMoreSamplesUpToTheFactorLongOnesKeepTheirRepetitions()
    {
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock); // prefills of 8..512 tokens take 2.4..83 ms
        var profile = new ExecutionTimeProfiler(clock).Run(target, Small with { ShortPointTime = TimeSpan.FromMilliseconds(100), ShortPointMaxFactor = 4 });
        foreach (var m in profile.Measurements.Prefill)
        {
            double ms = target.A * m.PromptLength * m.PromptLength + target.B * m.PromptLength + target.C;
            int expected = Math.Clamp((int)Math.Ceiling(100 / ms), Small.PrefillRepetitions, 4 * Small.PrefillRepetitions);
            Assert.Equal(expected, m.SamplesMilliseconds.Count);
        }
        Assert.Equal(12, profile.Measurements.Prefill[0].SamplesMilliseconds.Count);  // 2.4 ms: capped at 4 × 3
        Assert.Equal(3, profile.Measurements.Prefill[^1].SamplesMilliseconds.Count);  // 83 ms × 3 is over 100 ms
        // A decode sample costs its steps and their (untimed) preparation: over a second on the fake.
        Assert.All(profile.Measurements.DecodeSteps, m => Assert.Equal(Small.DecodeRepetitions, m.SamplesMilliseconds.Count));

        // With a higher aim the decode points (3 steps behind 1–1.5 s preparations each) grow too, at most twofold here.
        var slowClock = new ManualClock();
        var longer = new ExecutionTimeProfiler(slowClock).Run(new FakeProfilingTarget(slowClock),
            Small with { ShortPointTime = TimeSpan.FromSeconds(20), ShortPointMaxFactor = 2 });
        Assert.All(longer.Measurements.DecodeSteps, m => Assert.InRange(m.SamplesMilliseconds.Count, Small.DecodeRepetitions + 1, 2 * Small.DecodeRepetitions));
        Assert.All(longer.Measurements.Prefill, m => Assert.Equal(2 * Small.PrefillRepetitions, m.SamplesMilliseconds.Count));
    }

    [Fact]
    public void ABlockedPrefillIsFittedWithItsPerBlockCost()
    {
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock) { D = 3, Block = 128 };
        var profile = new ExecutionTimeProfiler(clock).Run(target, Small);
        var pre = profile.Coefficients.Prefill;
        Assert.Equal(128, profile.Measurements.PrefillQueryBlock);
        Assert.Equal(128, pre.QueryBlock);
        AssertPrefillRecovered(target, profile);

        // The plain quadratic cannot follow the steps: the same data without the block term misses by percents.
        var plain = ExecutionTimeFitter.Fit(profile.Measurements with { PrefillQueryBlock = 0 });
        Assert.Equal(0, plain.Coefficients.Prefill.QueryBlock);
        Assert.True(plain.Prefill.FitMapePercent > 1, $"{plain.Prefill.FitMapePercent}%");

        var broken = new FakeProfilingTarget(clock) { Block = -1 };
        var error = Assert.Throws<ArgumentException>(() => new ExecutionTimeProfiler(clock).Run(broken, Small));
        Assert.Contains("prefill query block", error.Message);
        Assert.Empty(broken.Calls); // refused before any work
    }

    /// <summary>The fit gives back the fake's prefill coefficients, and its held-out points are exact.</summary>
    private static void AssertPrefillRecovered(FakeProfilingTarget target, ExecutionTimeProfile profile)
    {
        var pre = profile.Coefficients.Prefill;
        Assert.Equal(target.A, pre.A, 1e-9);
        Assert.Equal(target.B, pre.B, 1e-6);
        Assert.Equal(target.C, pre.C, 1e-4);
        Assert.Equal(target.D, pre.D, 1e-4);
        Assert.True(profile.Fit.Prefill.HeldOutMapePercent < 1e-3);
    }

    [Fact]
    public void AChunkedPrefillIsFittedWithItsFixedCostPerChunk()
    {
        var clock = new ManualClock();
        var target = new FakeProfilingTarget(clock) { D = 0.8, Block = 128, C = 3, Chunk = 192 };
        var profile = new ExecutionTimeProfiler(clock).Run(target, Small);
        var pre = profile.Coefficients.Prefill;
        Assert.Equal(192, profile.Measurements.PrefillChunk);
        Assert.Equal(192, pre.Chunk);
        AssertPrefillRecovered(target, profile);

        // Counted once, the constant cannot follow the step at every chunk.
        var once = ExecutionTimeFitter.Fit(profile.Measurements with { PrefillChunk = 0 });
        Assert.True(once.Prefill.FitMapePercent > 0.5, $"{once.Prefill.FitMapePercent}%");

        var broken = new FakeProfilingTarget(clock) { Chunk = -1 };
        var error = Assert.Throws<ArgumentException>(() => new ExecutionTimeProfiler(clock).Run(broken, Small));
        Assert.Contains("prefill chunk", error.Message);
        Assert.Empty(broken.Calls);
    }

    [Fact]
    public void GridsAreDistinctSortedAndCoverTheRange()
    {
        var g = ExecutionTimeProfiler.Grid(8, 2048, 16);
        Assert.Equal(8, g[0]);
        Assert.Equal(2048, g[^1]);
        Assert.Equal(16, g.Distinct().Count());
        Assert.Equal(g.Order(), g);
        Assert.Equal([1, 3, 4, 6], ExecutionTimeProfiler.LayerGrid(6, 4));
        Assert.Equal([1, 2, 3, 4, 5], ExecutionTimeProfiler.LayerGrid(5, 8));
        Assert.Equal([5], ExecutionTimeProfiler.LayerGrid(5, 1));
    }

    [Fact]
    public void BadOptionsNameTheOption()
    {
        var clock = new ManualClock();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new ExecutionTimeProfiler(clock).Run(new FakeProfilingTarget(clock), new ExecutionTimeProfilerOptions { PrefillRepetitions = 0 }));
        Assert.Equal("PrefillRepetitions", e.ParamName);
    }

    private sealed class SyncProgress(Action<ProfilingProgress> report) : IProgress<ProfilingProgress>
    {
        public void Report(ProfilingProgress value) => report(value);
    }
}

public class ProcessCpuTimeProviderTests
{
    [Fact]
    public void AdvancesWithWorkAndNeverGoesBack()
    {
        if (!OperatingSystem.IsLinux()) return;
        var clock = new ProcessCpuTimeProvider();
        long start = clock.GetTimestamp();
        double sink = 0;
        for (int i = 0; i < 5_000_000; i++) sink += Math.Sqrt(i);
        long end = clock.GetTimestamp();
        Assert.True(sink > 0);
        Assert.True(end > start, "the CPU-time clock must advance while this thread computes");
        Assert.Equal(1_000_000_000, clock.TimestampFrequency);
    }
}
