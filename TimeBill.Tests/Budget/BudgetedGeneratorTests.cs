using TimeBill.Core.Budget;
using TimeBill.Core.Eviction;
using TimeBill.Core.Planning;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Budget;

/// <summary>The budgeted generator's statuses, overrun strategies (deterministic clock), concurrency and bad input.</summary>
[Collection(ModelCollection.Name)]
public sealed class BudgetedGeneratorTests(ModelFixture models)
{
    /// <summary>Prefill 2 ms, every decode step 3 ms + 0.001 ms per cached entry.</summary>
    private static readonly ExecutionTimeEstimator Estimator = new(new ExecutionTimeCoefficients(
        new PrefillCost(0, 0, 2), new DecodeStepCost(0.001, 3), new LayeredDecodeStepCost(0.0002, 0.6, 0, 5)));

    private static readonly int[] Prompt = SharedAssets.Reference("stories260K").GetProperty("cases")[0].Ints("input_ids");

    /// <summary>Always predicts <paramref name="length"/> tokens: a predictor that is wrong on purpose.</summary>
    private sealed class FixedLengthPredictor(string identity, int length) : IResponseLengthPredictor
    {
        public string ModelIdentity => identity;
        public LengthBuckets Buckets { get; } = new(8, 512);
        public ResponseLengthPrediction Predict(IReadOnlyList<int> promptIds) => ResponseLengthPrediction.PointMass(Buckets, length);
    }

    private BudgetedGenerator Create(TimeProvider? time = null, int? predictedLength = null)
    {
        var model = models.Get("stories260K");
        var predictor = predictedLength is int n ? new FixedLengthPredictor(model.Identity, n) : null;
        return new(model, models.StoriesTokenizer, Estimator, predictor, time: time);
    }

    private static BudgetedRequest Request(double budgetMs, OverrunStrategy overrun = OverrunStrategy.Kill, int maxNew = 100) => new()
    {
        PromptIds = Prompt,
        Budget = TimeSpan.FromMilliseconds(budgetMs),
        Overrun = overrun,
        MaxNewTokens = maxNew,
        Planner = new PlannerOptions { Eviction = new NoEvictionPolicy() },
    };

    [Fact]
    public async Task GenerousBudgetCompletesWithTheReferenceContinuation()
    {
        using var generator = Create();
        var result = await generator.GenerateAsync(Request(600_000, maxNew: 40));
        Assert.Equal(BudgetStatus.Completed, result.Status);
        Assert.Equal(SharedAssets.Reference("stories260K").GetProperty("cases")[0].Ints("greedy_continuation_ids")[..40], result.Ids);
        Assert.Equal(0, result.Plan!.EvictionRatio);
        Assert.True(result.Plan.Feasible);
    }

    /// <summary>A job behind the same 96 prompt tokens as the one before restores them and is priced as a prefill of the rest.</summary>
    [Fact]
    public async Task AWarmPrefixIsRestoredAndPricedAsCached()
    {
        var estimator = new ExecutionTimeEstimator(new ExecutionTimeCoefficients(
            new PrefillCost(1e-4, 0.5, 2), new DecodeStepCost(0.001, 3), new LayeredDecodeStepCost(0.0002, 0.6, 0, 5)));
        using var generator = new BudgetedGenerator(models.Get("stories260K"), models.StoriesTokenizer, estimator);
        var random = new Random(7);
        int[] system = [1, .. Enumerable.Range(0, 99).Select(_ => random.Next(3, 512))];
        BudgetedRequest Job(int[] tail, bool reuse = true) => Request(600_000, maxNew: 8) with { PromptIds = [.. system, .. tail], ReusePrefix = reuse };

        var cold = await generator.GenerateAsync(Job([5, 6, 7]));
        var warm = await generator.GenerateAsync(Job([8, 9]));
        var unshared = await generator.GenerateAsync(Job([8, 9], reuse: false));

        Assert.Equal(0, cold.ReusedPromptTokens);
        Assert.Equal(96, warm.ReusedPromptTokens);
        Assert.Equal(0, unshared.ReusedPromptTokens);
        Assert.Equal(estimator.PrefillMilliseconds(102, 96), warm.PredictedPrefillTime.TotalMilliseconds, 9);
        Assert.True(warm.PredictedPrefillTime < unshared.PredictedPrefillTime / 5);
        Assert.Equal(unshared.Ids, warm.Ids);
    }

    [Fact]
    public void KillStopsAtTheLastStepThatFitsAndSkipNextFinishesTheSameResponse()
    {
        // Every clock reading advances 1 ms; a decode step reads the clock three times and is priced at ≥ 3 ms.
        // The predictor says 2 tokens (k = 1), so the plan fits, but the story runs on: the deadline must cut it.
        var step = TimeSpan.FromMilliseconds(1);
        var planner = new PlannerOptions { Eviction = new NoEvictionPolicy(), Pessimism = 1 };
        using var killer = Create(new SteppingTimeProvider(step), predictedLength: 2);
        var killed = killer.Run(Request(60, OverrunStrategy.Kill) with { Planner = planner }, 0, null, default);
        using var finisher = Create(new SteppingTimeProvider(step), predictedLength: 2);
        var finished = finisher.Run(Request(60, OverrunStrategy.SkipNext) with { Planner = planner }, 0, null, default);
        Assert.True(killed.Plan!.Feasible);

        Assert.Equal(BudgetStatus.DeadlineExceeded, killed.Status);
        Assert.Null(killed.StopReason);
        Assert.True(killed.Ids.Count > 0);
        Assert.True(killed.Overshoot <= TimeSpan.FromMilliseconds(Estimator.DecodeStepMilliseconds(Prompt.Length + killed.Ids.Count)),
            $"overshoot {killed.Overshoot.TotalMilliseconds} ms is more than one step");

        Assert.Equal(BudgetStatus.DeadlineExceeded, finished.Status);
        Assert.NotNull(finished.StopReason);
        Assert.True(finished.Ids.Count > killed.Ids.Count);
        Assert.Equal(killed.Ids, finished.Ids.Take(killed.Ids.Count)); // greedy: Kill's answer is a prefix
    }

    [Fact]
    public void KillDropsAJobWhosePrefillCannotFitAndRunsAnInfeasiblePlanAtAlphaMaxUntilTheDeadline()
    {
        using var generator = Create(new SteppingTimeProvider(TimeSpan.FromMilliseconds(1)));
        var tooShort = generator.Run(Request(1.5), 0, null, default);
        Assert.Equal(BudgetStatus.Infeasible, tooShort.Status);
        Assert.Empty(tooShort.Ids);
        Assert.Null(tooShort.Plan);

        // Prefill fits but the worst case (k·N̂ = 100 tokens × 3 ms) cannot, whatever α: the job runs at α_max, is cut
        // at the deadline like any Kill job, and reports the miss the planner predicted.
        var infeasible = generator.Run(Request(20) with { Planner = new PlannerOptions { Eviction = new SnapKvPolicy() } }, 0, null, default);
        Assert.Equal(BudgetStatus.Infeasible, infeasible.Status);
        Assert.False(infeasible.Plan!.Feasible);
        Assert.Equal(0.95, infeasible.Plan.EvictionRatio);
        Assert.Null(infeasible.StopReason);
        Assert.True(infeasible.Overshoot <= TimeSpan.FromMilliseconds(Estimator.DecodeStepMilliseconds(Prompt.Length + infeasible.Ids.Count)));
    }

    [Fact]
    public async Task CancellationWinsAndLeavesTheGeneratorReusable()
    {
        using var generator = Create();
        // Cancelled at the third token from inside the decode loop: a consumer of the stream cancelling after reading
        // three items raced the producer, which often finished all 200 tokens first.
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            generator.Run(Request(600_000, maxNew: 200), TimeProvider.System.GetTimestamp(), token => { if (token.Index == 2) cancel.Cancel(); }, cancel.Token));
        // The stream surfaces a cancellation too.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var item in generator.StreamAsync(Request(600_000, maxNew: 200), cancel.Token)) { }
        });
        var after = await generator.GenerateAsync(Request(600_000, maxNew: 10));
        Assert.Equal(BudgetStatus.Completed, after.Status);
        Assert.Equal(10, after.Ids.Count);
    }

    [Fact]
    public async Task ParallelCallersAreQueuedNotCorrupted()
    {
        using var generator = Create();
        var sequential = (await generator.GenerateAsync(Request(600_000, maxNew: 30))).Ids;
        var parallel = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => generator.GenerateAsync(Request(600_000, maxNew: 30))));
        Assert.All(parallel, r => Assert.Equal(sequential, r.Ids));
    }

    [Fact]
    public async Task StreamEndsWithTheResultAndItsTokensMatch()
    {
        using var generator = Create();
        var items = new List<BudgetedStreamItem>();
        await foreach (var item in generator.StreamAsync(Request(600_000, maxNew: 20))) items.Add(item);
        Assert.True(items[^1].IsFinal);
        Assert.Equal(items[^1].Result!.Ids, items.Where(i => !i.IsFinal && i.Token.Id >= 0).Select(i => i.Token.Id));
    }

    [Fact]
    public async Task AGeneratorWithoutATokenizerWorksOnIdsAndRefusesText()
    {
        var model = models.Get("stories260K");
        using var generator = new BudgetedGenerator(model, tokenizer: null, Estimator);
        var result = await generator.GenerateAsync(Request(600_000, maxNew: 12));
        Assert.Equal(SharedAssets.Reference("stories260K").GetProperty("cases")[0].Ints("greedy_continuation_ids")[..12], result.Ids);
        Assert.Equal("", result.Text);
        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => generator.GenerateAsync(Request(1000) with { PromptIds = null, Prompt = "Once" }));
        Assert.Contains("PromptIds", error.Message);
    }

    public static TheoryData<string, Func<BudgetedRequest, BudgetedRequest>> BadRequests() => new()
    {
        { "budget zero", r => r with { Budget = TimeSpan.Zero } },
        { "budget negative", r => r with { Budget = TimeSpan.FromMilliseconds(-1) } },
        { "k below 1", r => r with { Planner = r.Planner with { Pessimism = 0.5 } } },
        { "alpha max 0", r => r with { Planner = r.Planner with { MaxEvictionRatio = 0 } } },
        { "alpha max 1", r => r with { Planner = r.Planner with { MaxEvictionRatio = 1 } } },
        { "empty prompt ids", r => r with { PromptIds = [] } },
        { "empty prompt text", r => r with { PromptIds = null, Prompt = "  " } },
        { "prompt longer than the context", r => r with { PromptIds = Enumerable.Repeat(5, 600).ToArray() } },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequestsAreRejectedClearly(string what, Func<BudgetedRequest, BudgetedRequest> change)
    {
        using var generator = Create();
        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => generator.GenerateAsync(change(Request(1000))));
        Assert.False(string.IsNullOrWhiteSpace(error.Message), what);
    }
}
