using SchemaCheck = TimeBill.Cli.Evaluation.SchemaCheck;
using System.Text.Json;
using TimeBill.Core.Budget;
using TimeBill.Core.Constraints;
using TimeBill.Core.Eviction;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Planning;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Tests.ExecutionTime;
using TimeBill.Tests.Support;
using TimeBill.Tests.Tokenization;

namespace TimeBill.Tests.Constraints;

/// <summary>Constraints with real models: greedy generation through the text generator, and budgeted generation under Kill.</summary>
[Collection(ModelCollection.Name)]
public sealed class ConstrainedGenerationTests(ModelFixture models)
{
    private const string Schema = """
        {"type":"object","properties":{
          "name":{"type":"string"},
          "count":{"type":"integer","minimum":0,"maximum":100},
          "tags":{"type":"array","items":{"enum":["red","green"]},"maxItems":3},
          "ok":{"type":"boolean"}},
         "required":["name","count"],"additionalProperties":false}
        """;

    private static void AssertValid(string text)
    {
        using var schema = JsonDocument.Parse(Schema);
        using var document = JsonDocument.Parse(text);
        Assert.True(SchemaCheck.Problem(document.RootElement, schema.RootElement) is null, $"{text}: {SchemaCheck.Problem(document.RootElement, schema.RootElement)}");
    }

    [Theory]
    [InlineData(12)]
    [InlineData(48)]
    public async Task GreedyGenerationWithTinyRandomQwen3GivesAValidAnswerWithinTheCap(int maxTokens)
    {
        var tokenizer = SharedTokenizers.Get("tiny-random-qwen3");
        using var generator = new TextGenerator(models.Get("tiny-random-qwen3"), tokenizer);
        var constraint = new ConstrainedDecoding(OutputConstraint.JsonSchema(Schema).For(tokenizer), generator.Engine.DefaultStopTokenIds(tokenizer), maxTokens);
        var result = await generator.GenerateAsync("Describe the item as JSON:", new GenerationOptions { MaxNewTokens = maxTokens, LogitsProcessors = [constraint] });
        AssertValid(result.Text);
        Assert.True(result.Ids.Count <= maxTokens);
        constraint.Follow(result.Ids);
        Assert.True(constraint.IsComplete);
    }

    [Fact]
    public async Task ChoicesWithTinyRandomQwen3EndOnOneOfThem()
    {
        var tokenizer = SharedTokenizers.Get("tiny-random-qwen3");
        using var generator = new TextGenerator(models.Get("tiny-random-qwen3"), tokenizer);
        string[] choices = ["turn left", "turn right", "stop"];
        var constraint = OutputConstraint.OneOf(choices).CreateProcessor(tokenizer, generator.Engine.DefaultStopTokenIds(tokenizer));
        var result = await generator.GenerateAsync("Which way?", new GenerationOptions { MaxNewTokens = 16, LogitsProcessors = [constraint] });
        Assert.Contains(result.Text, choices);
        Assert.Equal(StopReason.StopToken, result.StopReason);
    }

    /// <summary>Prefill predicted at 2 ms; a step costs 1 ms + 0.01 ms per cached entry.</summary>
    private static readonly ExecutionTimeEstimator Estimator = new(new ExecutionTimeCoefficients(
        new PrefillCost(0, 0, 2), new DecodeStepCost(0.01, 1), new LayeredDecodeStepCost(0.002, 0.2, 0, 5)));

    [Fact]
    public void KillClosesConstrainedAnswersSoEveryBudgetGivesAValidAnswer()
    {
        // The test's clock charges each token what the estimator says its step costs, so the deadline cuts exactly.
        var clock = new ManualClock();
        var tokenizer = models.StoriesTokenizer;
        var model = models.Get("stories260K");
        using var generator = new BudgetedGenerator(model, tokenizer, Estimator, new ClockedPrefill(model.Identity, clock, 5), time: clock);
        var constraint = OutputConstraint.JsonSchema(Schema);
        int[] prompt = tokenizer.EncodePrompt("Once upon a time");
        int closedEarly = 0, shortest = constraint.For(tokenizer).MinTokensToAccept(0);
        // From the first budget in which the prefill and the shortest answer's steps fit (a step costs about 1.1 ms here).
        for (double budget = 5 + 1.2 * shortest; budget <= 90; budget += 3)
        {
            var request = new BudgetedRequest
            {
                PromptIds = prompt, Budget = TimeSpan.FromMilliseconds(budget), Overrun = OverrunStrategy.Kill, MaxNewTokens = 80,
                Sampling = new() { Temperature = 1, Seed = (int)budget }, Constraint = constraint,
                Planner = new PlannerOptions { Eviction = new NoEvictionPolicy(), Pessimism = 1 },
            };
            var result = generator.Run(request, clock.GetTimestamp(), token =>
            {
                if (token.Id >= 0 && token.Index > 0) clock.Advance(Estimator.DecodeStepMilliseconds(prompt.Length + token.Index - 1));
            }, default);
            AssertValid(result.Text);
            Assert.True(result.TotalTime <= request.Budget, $"{budget} ms: took {result.TotalTime.TotalMilliseconds} ms");
            // Killed (past the deadline, or as the planner foresaw: Infeasible): always with a complete answer.
            if (result.Status != BudgetStatus.Completed) Assert.True(result.ClosedEarly, $"{budget} ms: killed but not closed");
            if (result.ClosedEarly) closedEarly++;
            Assert.True(result.Plan!.WorstCaseLength >= OutputConstraint.JsonSchema(Schema).For(tokenizer).MaxClosingTokens);
        }
        Assert.True(closedEarly > 0, "no budget was tight enough to close an answer early");
    }

    [Fact]
    public void StepsThatRunPastTheirPriceDoNotLeaveAClosedAnswerOpen()
    {
        // Every fourth step takes five times its price (a machine that stalls now and then), and the prefill 2.5 times.
        var clock = new ManualClock();
        var tokenizer = models.StoriesTokenizer;
        var model = models.Get("stories260K");
        using var generator = new BudgetedGenerator(model, tokenizer, Estimator, new ClockedPrefill(model.Identity, clock, 5), time: clock);
        var constraint = OutputConstraint.JsonSchema(Schema);
        int[] prompt = tokenizer.EncodePrompt("Once upon a time");
        int answered = 0, dropped = 0;
        for (double budget = 1; budget <= 90; budget += 1.5)
        {
            var request = new BudgetedRequest
            {
                PromptIds = prompt, Budget = TimeSpan.FromMilliseconds(budget), Overrun = OverrunStrategy.Kill, MaxNewTokens = 80,
                Sampling = new() { Temperature = 1, Seed = (int)(budget * 2) }, Constraint = constraint,
                Planner = new PlannerOptions { Eviction = new NoEvictionPolicy(), Pessimism = 1 },
            };
            var result = generator.Run(request, clock.GetTimestamp(), token =>
            {
                if (token.Id >= 0 && token.Index > 0)
                    clock.Advance(Estimator.DecodeStepMilliseconds(prompt.Length + token.Index - 1) * (token.Index % 4 == 0 ? 5 : 1));
            }, default);
            if (result.Ids.Count == 0) { dropped++; Assert.Equal(TimeSpan.Zero, result.DecodeTime); continue; }
            answered++;
            AssertValid(result.Text);
        }
        Assert.True(answered > 0 && dropped > 0, $"{answered} answered, {dropped} dropped: the budgets should span both");
    }

    /// <summary>A length predictor that reads the prefill (answering the cap's bucket) and charges the test's clock for the prefill.</summary>
    private sealed class ClockedPrefill(string identity, ManualClock clock, double prefillMs) : IPrefillProbingLengthPredictor
    {
        public string ModelIdentity => identity;
        public LengthBuckets Buckets { get; } = new(8, 512);
        public ResponseLengthPrediction Predict(IReadOnlyList<int> promptIds) => ResponseLengthPrediction.PointMass(Buckets, 63);
        public IForwardObserver CreateProbe() => new Observer(clock, prefillMs);
        public ResponseLengthPrediction PredictFromProbe(IForwardObserver probe, int promptLength) => Predict([]);

        private sealed class Observer(ManualClock clock, double prefillMs) : IForwardObserver
        {
            public void OnHiddenState(int layer, TorchSharp.torch.Tensor hidden)
            {
                if (layer == 0) clock.Advance(prefillMs);
            }
        }
    }

    [Fact]
    public void PlannerWorstCaseCountsTheClosingReserve()
    {
        var step = new DecodeStepCost(0.01, 1);
        Assert.Equal(30 + 7, BudgetPlanner.Plan(step, 100, 10, 200, 1000, 3, 0.95, closingReserve: 7).WorstCaseLength);
        Assert.Equal(35, BudgetPlanner.Plan(step, 100, 10, 35, 1000, 3, 0.95, closingReserve: 7).WorstCaseLength);
        Assert.Throws<ArgumentOutOfRangeException>(() => BudgetPlanner.Plan(step, 100, 10, 35, 1000, 3, 0.95, closingReserve: -1));
    }

    [Fact]
    public void AConstrainedRequestNeedsATokenizerAndAStopToken()
    {
        using var generator = new BudgetedGenerator(models.Get("stories260K"), null, Estimator);
        var request = new BudgetedRequest { PromptIds = [1, 2, 3], Budget = TimeSpan.FromSeconds(1), Constraint = OutputConstraint.OneOf(["a"]) };
        Assert.Contains("tokenizer", Assert.Throws<ArgumentException>(() => { _ = generator.GenerateAsync(request); }).Message);
        using var withTokenizer = new BudgetedGenerator(models.Get("stories260K"), models.StoriesTokenizer, Estimator);
        Assert.Contains("stop token", Assert.Throws<ArgumentException>(() => { _ = withTokenizer.GenerateAsync(request with { StopTokenIds = [] }); }).Message);
    }
}
