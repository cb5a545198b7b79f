using TimeBill.Core.Budget;
using TimeBill.Core.Cache;
using TimeBill.Core.Eviction;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Planning;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Tests.ExecutionTime;
using TimeBill.Tests.Support;
using TorchSharp;

namespace TimeBill.Tests.Budget;

/// <summary>
/// The Kill deadline, on a clock that moves only when the test says so: the work "takes" exactly what the test
/// charges for it (each generated token is charged the estimator's price of the step that produced it, eviction and
/// the probe are charged by fakes), so where the job must stop follows from the rule alone.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class KillDeadlineTests(ModelFixture models)
{
    private const double PrefillMs = 5;

    /// <summary>Prefill predicted at 2 ms; a step costs 1 ms + 0.01 ms per cached entry.</summary>
    private static readonly ExecutionTimeEstimator Estimator = new(new ExecutionTimeCoefficients(
        new PrefillCost(0, 0, 2), new DecodeStepCost(0.01, 1), new LayeredDecodeStepCost(0.002, 0.2, 0, 5)));

    private static readonly int[] Prompt = SharedAssets.Reference("stories260K").GetProperty("cases")[0].Ints("input_ids");

    /// <summary>200 tokens, long enough for eviction to change a step's price.</summary>
    private static readonly int[] LongPrompt = [1, .. Enumerable.Range(0, 199).Select(i => 3 + i * 7 % 500)];

    /// <summary>A self-probe whose prefill takes <paramref name="prefillMs"/> and whose head takes <paramref name="probeMs"/>.</summary>
    private sealed class ClockedProbe(string identity, ManualClock clock, double prefillMs, double probeMs) : IPrefillProbingLengthPredictor
    {
        public int Predictions { get; private set; }
        public string ModelIdentity => identity;
        public LengthBuckets Buckets { get; } = new(8, 512);
        public ResponseLengthPrediction Predict(IReadOnlyList<int> promptIds) => ResponseLengthPrediction.PointMass(Buckets, 2);
        public IForwardObserver CreateProbe() => new Observer(clock, prefillMs);

        public ResponseLengthPrediction PredictFromProbe(IForwardObserver probe, int promptLength)
        {
            Predictions++;
            clock.Advance(probeMs);
            return ResponseLengthPrediction.PointMass(Buckets, 2);
        }

        private sealed class Observer(ManualClock clock, double prefillMs) : IForwardObserver
        {
            public void OnHiddenState(int layer, torch.Tensor hidden)
            {
                if (layer == 0) clock.Advance(prefillMs);
            }
        }
    }

    /// <summary>An eviction policy that keeps the most recent entries (StreamingLLM) and takes <paramref name="milliseconds"/> on the test's clock.</summary>
    private sealed class ClockedEviction(ManualClock clock, double milliseconds) : EvictionPolicy
    {
        private readonly StreamingLlmPolicy _inner = new();
        public int Evictions { get; private set; }
        public override string Name => "clocked";

        protected override void EvictCore(KvCache cache, double alpha, EvictionCapture? capture)
        {
            Evictions++;
            clock.Advance(milliseconds);
            _inner.Evict(cache, alpha);
        }
    }

    private BudgetedGenerator Create(ManualClock clock, IResponseLengthPredictor? predictor = null, IExecutionTimeEstimator? estimator = null)
    {
        var model = models.Get("stories260K");
        // A self-probe by default: its answer comes on the test's clock (a predictor on the thread pool would not).
        return new(model, models.StoriesTokenizer, estimator ?? Estimator, predictor ?? new ClockedProbe(model.Identity, clock, 0, 0), time: clock);
    }

    private static BudgetedRequest Request(double budgetMs, EvictionPolicy? eviction = null, double? fixedAlpha = null, int[]? prompt = null) => new()
    {
        PromptIds = prompt ?? Prompt,
        Budget = TimeSpan.FromMilliseconds(budgetMs),
        Overrun = OverrunStrategy.Kill,
        MaxNewTokens = 300,
        StopTokenIds = [],
        Planner = new PlannerOptions { Eviction = eviction ?? new NoEvictionPolicy(), Pessimism = 1, FixedEvictionRatio = fixedAlpha },
    };

    /// <summary>
    /// Charges every token the time of the work that produced it: the first (from prefill) <see cref="PrefillMs"/>,
    /// token j ≥ 1 the estimator's price of decode step j, which found <paramref name="firstKv"/> + j − 1 entries.
    /// </summary>
    private static Action<GeneratedToken> Charge(ManualClock clock, int firstKv, double prefillMs = PrefillMs) => token =>
    {
        if (token.Id < 0) return;
        clock.Advance(token.Index == 0 ? prefillMs : Estimator.DecodeStepMilliseconds(firstKv + token.Index - 1));
    };

    /// <summary>Decode steps the rule allows: the most whose charged times, after the prefill's, end by the deadline.</summary>
    private static int StepsThatFit(double budgetMs, double startMs, int firstKv)
    {
        double end = startMs;
        int steps = 0;
        while (end + Estimator.DecodeStepMilliseconds(firstKv + steps) <= budgetMs)
            end += Estimator.DecodeStepMilliseconds(firstKv + steps++);
        return steps;
    }

    [Theory]
    [InlineData(OverrunStrategy.Kill)]
    [InlineData(OverrunStrategy.SkipNext)]
    public void KillStopsAPrefillThatWouldOverrunBetweenChunks(OverrunStrategy overrun)
    {
        // Prefill priced at 0.01 ms a token (2 ms for 200), but each 16-token chunk really takes 1 ms on the test's clock.
        var clock = new ManualClock();
        var model = models.Get("stories260K");
        var estimator = new ExecutionTimeEstimator(new ExecutionTimeCoefficients(
            new PrefillCost(0, 0.01, 0), new DecodeStepCost(0.01, 1), new LayeredDecodeStepCost(0.002, 0.2, 0, 5)));
        using var engine = new GenerationEngine(model, new EngineOptions { PrefillChunkSize = 16 });
        using var generator = new BudgetedGenerator(engine, models.StoriesTokenizer, estimator, new ClockedProbe(model.Identity, clock, 1, 0), time: clock);
        var request = Request(8, prompt: LongPrompt) with { Overrun = overrun, MaxNewTokens = 4 };
        var result = generator.Run(request, clock.GetTimestamp(), null, default);
        int chunks = (LongPrompt.Length + 15) / 16;
        if (overrun == OverrunStrategy.Kill)
        {
            // After the first chunk the rest is priced 6.25× its estimate: (2 − 0.16) · 6.25 + a 3 ms step no longer fits.
            Assert.Equal(BudgetStatus.DeadlineExceeded, result.Status);
            Assert.Empty(result.Ids);
            Assert.Null(result.Plan);
            Assert.Equal(1, result.TotalTime.TotalMilliseconds, 6);
        }
        else
        {
            Assert.Equal(4, result.Ids.Count);
            Assert.True(result.TotalTime.TotalMilliseconds >= chunks, $"{result.TotalTime.TotalMilliseconds} ms");
        }
    }

    [Theory]
    [InlineData(6.5)]
    [InlineData(20)]
    [InlineData(37.5)]
    [InlineData(120)]
    public void KillStopsAtTheLastStepThatFits(double budgetMs)
    {
        var clock = new ManualClock();
        using var generator = Create(clock);
        var result = generator.Run(Request(budgetMs), clock.GetTimestamp(), Charge(clock, Prompt.Length), default);

        int steps = StepsThatFit(budgetMs, PrefillMs, Prompt.Length);
        Assert.Equal(1 + steps, result.Ids.Count);
        Assert.Equal(BudgetStatus.DeadlineExceeded, result.Status);
        Assert.Null(result.StopReason);
        double next = Estimator.DecodeStepMilliseconds(Prompt.Length + steps);
        Assert.InRange(result.Overshoot.TotalMilliseconds, -next, 0);
    }

    [Fact]
    public void StepsSlowerThanTheEstimateAreLearnedSoLaterJobsEndByTheDeadline()
    {
        // Every step takes 1.5× the estimator's price (the machine got slower than its profile). Charged at the
        // estimator's price, the last step would end up to half a step past T; the generator learns the misses.
        var clock = new ManualClock();
        using var generator = Create(clock);
        Action<GeneratedToken> slowSteps = token =>
        {
            if (token.Id < 0) return;
            clock.Advance(token.Index == 0 ? PrefillMs : 1.5 * Estimator.DecodeStepMilliseconds(Prompt.Length + token.Index - 1));
        };
        generator.Run(Request(120), clock.GetTimestamp(), slowSteps, default);
        for (double budgetMs = 100; budgetMs < 140; budgetMs += 1.7) // budgets that end at every phase of a step
        {
            var result = generator.Run(Request(budgetMs), clock.GetTimestamp(), slowSteps, default);
            Assert.Equal(BudgetStatus.DeadlineExceeded, result.Status);
            double step = 1.5 * Estimator.DecodeStepMilliseconds(Prompt.Length + result.Ids.Count - 1);
            Assert.InRange(result.Overshoot.TotalMilliseconds, -2 * step, 0);
        }
    }

    [Fact]
    public void PrefillsSlowerThanTheirEstimateAreLearnedSoAJobWhosePrefillCannotEndInTimeDoesNotStart()
    {
        // Every prefill takes 20 ms against an estimate of 2 ms (a loaded machine). Once that is seen, a job whose
        // budget its prefill would overrun is dropped before any work instead of coming back late.
        var clock = new ManualClock();
        var model = models.Get("stories260K");
        using var generator = Create(clock, new ClockedProbe(model.Identity, clock, prefillMs: 20, probeMs: 0));
        var first = generator.Run(Request(15) with { MaxNewTokens = 4 }, clock.GetTimestamp(), null, default);
        Assert.Equal(20, first.TimeToFirstToken.TotalMilliseconds, 6); // not yet learned: it starts, and its prefill ends 5 ms late
        for (int i = 0; i < 3; i++) generator.Run(Request(1000) with { MaxNewTokens = 2 }, clock.GetTimestamp(), null, default);

        var dropped = generator.Run(Request(15), clock.GetTimestamp(), null, default);
        Assert.Empty(dropped.Ids);
        Assert.Equal(BudgetStatus.Infeasible, dropped.Status);
        Assert.Equal(0, dropped.TotalTime.TotalMilliseconds, 6);

        // With room for the prefill at its learned price and a step, the job runs and ends by T.
        var ran = generator.Run(Request(40), clock.GetTimestamp(), Charge(clock, Prompt.Length, prefillMs: 0), default);
        Assert.NotEmpty(ran.Ids);
        Assert.InRange(ran.Overshoot.TotalMilliseconds, -40, 0);
    }

    [Theory]
    [InlineData(40)]
    [InlineData(77.7)]
    public void KillKeepsTheTimeResultsRecentlyTookToReachTheirCallers(double budgetMs)
    {
        // Results have been reaching their callers 6 ms after they were complete: the job ends that much before T.
        var clock = new ManualClock();
        using var generator = Create(clock);
        for (int i = 0; i < 10; i++) generator.ObserveHandoff(6);
        var result = generator.Run(Request(budgetMs), clock.GetTimestamp(), Charge(clock, Prompt.Length), default);

        int steps = StepsThatFit(budgetMs - 6, PrefillMs, Prompt.Length);
        Assert.Equal(1 + steps, result.Ids.Count);
        double next = Estimator.DecodeStepMilliseconds(Prompt.Length + steps);
        Assert.InRange(result.Overshoot.TotalMilliseconds, -6 - next, -6);
    }

    [Fact]
    public void APrefillThatOverrunsTheDeadlineEndsTheJobWithItsTokenAndNothingElse()
    {
        var clock = new ManualClock();
        var probe = new ClockedProbe(models.Get("stories260K").Identity, clock, prefillMs: 50, probeMs: 3);
        var eviction = new ClockedEviction(clock, 4);
        using var generator = Create(clock, probe);
        var result = generator.Run(Request(30, eviction), clock.GetTimestamp(), null, default);

        Assert.Single(result.Ids);
        Assert.Equal(0, probe.Predictions);
        Assert.True(result.LengthPredictionSkipped);
        Assert.Equal(0, eviction.Evictions);
        Assert.True(result.EvictionSkipped);
        Assert.Equal(50, result.TimeToFirstToken.TotalMilliseconds, 6);
        Assert.Equal(20, result.Overshoot.TotalMilliseconds, 6); // the prefill's overrun, and no more
    }

    [Fact]
    public void TheProbeRunsOnlyWhenItAndOneStepFit()
    {
        var clock = new ManualClock();
        var probe = new ClockedProbe(models.Get("stories260K").Identity, clock, prefillMs: PrefillMs, probeMs: 3);
        using var generator = Create(clock, probe);
        var first = generator.Run(Request(1000), clock.GetTimestamp(), null, default); // measures the probe: 3 ms
        Assert.False(first.LengthPredictionSkipped);
        Assert.Equal(3, first.PredictorTime.TotalMilliseconds, 6);

        // After a 5 ms prefill, 3 ms of probe + a 1.x ms step do not fit in 8.5 ms: the probe is skipped, a step still runs.
        double step = Estimator.DecodeStepMilliseconds(Prompt.Length);
        var tight = generator.Run(Request(PrefillMs + 3 + step - 0.01), clock.GetTimestamp(), Charge(clock, Prompt.Length, prefillMs: 0), default);
        Assert.True(tight.LengthPredictionSkipped);
        Assert.Equal(1, probe.Predictions);
        Assert.True(tight.Ids.Count >= 2);
        Assert.True(tight.Overshoot <= TimeSpan.Zero);
    }

    [Fact]
    public void EvictionRunsOnlyWhenItAndOneStepFitAndThePlannerPaysForIt()
    {
        var clock = new ManualClock();
        var eviction = new ClockedEviction(clock, 4);
        using var generator = Create(clock);
        var measured = generator.Run(Request(1000, eviction, fixedAlpha: 0.5, prompt: LongPrompt), clock.GetTimestamp(), null, default);
        Assert.Equal(4, measured.EvictionTime.TotalMilliseconds, 6);

        // 4 ms of eviction + one 2 ms step do not fit in 4.5 ms: the cache stays whole and 3 ms steps run while they fit.
        var tight = generator.Run(Request(4.5, eviction, fixedAlpha: 0.5, prompt: LongPrompt), clock.GetTimestamp(),
            Charge(clock, LongPrompt.Length, prefillMs: 0), default);
        Assert.True(tight.EvictionSkipped);
        Assert.Equal(TimeSpan.Zero, tight.EvictionTime);
        Assert.Equal(1 + StepsThatFit(4.5, 0, LongPrompt.Length), tight.Ids.Count);
        Assert.Equal(1, eviction.Evictions);

        // An adaptive plan that evicts is solved with the eviction's measured cost taken from the time left:
        // N_W = 5·2 = 10 tokens, 9 steps of 1 ms + 0.01 ms per entry need α > 0 within 25 ms.
        var planner = new PlannerOptions { Eviction = eviction, Pessimism = 5 };
        var planned = generator.Run(Request(25, prompt: LongPrompt) with { Planner = planner }, clock.GetTimestamp(), null, default);
        var expected = BudgetPlanner.Plan(Estimator.Coefficients.Step, LongPrompt.Length, 2, 300, 25 - 4, 5, planner.MaxEvictionRatio);
        Assert.True(expected.EvictionRatio > BudgetPlanner.Plan(Estimator.Coefficients.Step, LongPrompt.Length, 2, 300, 25, 5, planner.MaxEvictionRatio).EvictionRatio);
        Assert.Equal(expected.EvictionRatio, planned.Plan!.EvictionRatio, 9);
        Assert.Equal(25 - 4, planned.Plan.RemainingMilliseconds, 6);
        Assert.False(planned.EvictionSkipped);
        Assert.Equal(2, eviction.Evictions);
    }

    [Fact]
    public void WarmUpFeedsNothingToTheEstimatorButLearnsTheEvictionCost()
    {
        var clock = new ManualClock();
        var eviction = new ClockedEviction(clock, 4);
        var estimator = new RecalibratingExecutionTimeEstimator(Estimator.Coefficients, clock: clock);
        using var generator = Create(clock, estimator: estimator);
        generator.WarmUp(new PlannerOptions { Eviction = eviction });
        Assert.Equal(0, estimator.Observations);
        Assert.Equal(2, eviction.Evictions);

        var tight = generator.Run(Request(4.5, eviction, fixedAlpha: 0.5, prompt: LongPrompt), clock.GetTimestamp(), null, default);
        Assert.True(tight.EvictionSkipped);
        Assert.Equal(2, eviction.Evictions);
    }
}
