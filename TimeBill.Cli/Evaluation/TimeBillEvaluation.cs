using System.Diagnostics;
using TimeBill.Predictors.Evaluation;
using TimeBill.Core.Budget;
using TimeBill.Core.Exit;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Planning;
using TimeBill.Core.Sampling;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// The TimeBill experiment: held-out prompts answered under budgets chosen from measured vanilla latencies
/// (percentiles), by vanilla (α = 0), fixed α, TimeBill (planned α) and TimeBill + layer skipping, under Kill
/// (job by job) and Skip-Next (a periodic stream, period = budget). Completion and score carry seeded bootstrap 95 % intervals. Score: ROUGE-L F1 of the response against
/// the unconstrained vanilla response under the same decoding; killed, skipped and dropped jobs score 0 (the
/// paper's rule), and a partial-credit variant scores whatever text they produced.
/// </summary>
internal sealed class TimeBillEvaluation(BudgetedGenerator generator, EvaluationSettings settings, IProgress<string>? progress = null)
{
    /// <summary>All rows: every method × budget × strategy, then the k sweep at the median budget.</summary>
    public sealed record Report(IReadOnlyList<BudgetEvaluationRow> Rows, IReadOnlyList<BudgetEvaluationRow> PessimismSweep,
        IReadOnlyDictionary<string, double> Budgets, double VanillaMeanLength, int Prompts, IReadOnlyList<BudgetEvaluationJob> Jobs,
        double Pessimism, string PessimismSource)
    {
        /// <summary>The CPU-bound processes that ran beside the evaluation, if any.</summary>
        public Contention.ContentionReport? Contention { get; init; }
    }

    private readonly List<BudgetEvaluationJob> _jobs = [];
    private int _cells;

    private sealed record Reference(int[] Prompt, IReadOnlyList<int> Response, double LatencyMs);

    public async Task<Report> RunAsync(CancellationToken cancellationToken)
    {
        var prompts = BuildPrompts(generator.Model, settings);
        progress?.Report("warming up");
        generator.WarmUp(cancellationToken: cancellationToken);
        progress?.Report($"vanilla responses for {prompts.Count} prompts");
        var references = new List<Reference>();
        foreach (var prompt in prompts)
        {
            var result = await generator.GenerateAsync(Request(prompt, TimeSpan.FromHours(1), OverrunStrategy.SkipNext, BudgetEvaluationMethod.Fixed(0)), cancellationToken);
            references.Add(new Reference(prompt, result.Ids, result.TotalTime.TotalMilliseconds));
        }

        var latencies = references.Select(r => r.LatencyMs).Order().ToArray();
        var budgets = settings.Percentiles.ToDictionary(p => $"p{p:0.#}", p => BudgetEvaluationRow.Percentile(latencies, p / 100));
        var methods = new List<BudgetEvaluationMethod> { BudgetEvaluationMethod.Fixed(0) };
        methods.AddRange(settings.FixedAlphas.Select(BudgetEvaluationMethod.Fixed));
        methods.Add(BudgetEvaluationMethod.TimeBill(settings.Pessimism));
        if (generator.Exits is not null) methods.Add(BudgetEvaluationMethod.TimeBillWithExit(settings.Pessimism, settings.Exit));

        var rows = new List<BudgetEvaluationRow>();
        foreach (var (label, budgetMs) in budgets)
            foreach (var method in methods)
                foreach (var strategy in new[] { OverrunStrategy.Kill, OverrunStrategy.SkipNext })
                {
                    progress?.Report($"{label} ({budgetMs:F0} ms) · {method.Name} · {strategy}");
                    rows.Add(await RunCell(references, method, strategy, label, budgetMs, cancellationToken));
                }

        var sweep = new List<BudgetEvaluationRow>();
        string medianLabel = budgets.Keys.OrderBy(k => Math.Abs(budgets[k] - BudgetEvaluationRow.Percentile(latencies, 0.5))).First();
        foreach (double k in settings.PessimismSweep)
        {
            progress?.Report($"k sweep at {medianLabel}: k = {k}");
            sweep.Add(await RunCell(references, BudgetEvaluationMethod.TimeBill(k, $"timebill k={k:0.#}"), OverrunStrategy.Kill, medianLabel, budgets[medianLabel], cancellationToken));
        }
        return new Report(rows, sweep, budgets, references.Average(r => r.Response.Count), prompts.Count, _jobs, settings.Pessimism, settings.PessimismSource);
    }

    private async Task<BudgetEvaluationRow> RunCell(IReadOnlyList<Reference> references, BudgetEvaluationMethod method, OverrunStrategy strategy,
        string label, double budgetMs, CancellationToken cancellationToken)
    {
        var budget = TimeSpan.FromMilliseconds(budgetMs);
        var requests = references.Select(r => Request(r.Prompt, budget, strategy, method)).ToList();
        IReadOnlyList<BudgetedResult> results;
        var returned = new List<TimeSpan>();
        if (strategy == OverrunStrategy.SkipNext)
        {
            // The runner measures each job from its release to the moment its result came back.
            results = await new JobStreamRunner(generator).RunAsync(StreamJob.Periodic(requests, budget), cancellationToken: cancellationToken);
            returned.AddRange(results.Select(r => r.TotalTime));
        }
        else
        {
            var list = new List<BudgetedResult>();
            foreach (var request in requests)
            {
                long called = Stopwatch.GetTimestamp();
                list.Add(await generator.GenerateAsync(request, cancellationToken));
                returned.Add(Stopwatch.GetElapsedTime(called));
            }
            results = list;
        }
        string strategyName = strategy == OverrunStrategy.Kill ? "kill" : "skip-next";
        var jobs = results.Select((r, i) => BudgetEvaluationJob.From(method.Name, strategyName, label, budgetMs, i, r, returned[i])).ToList();
        _jobs.AddRange(jobs);
        var partial = results.Select((r, i) => SequenceMetrics.RougeLF1(references[i].Response, r.Ids)).ToArray();
        var strict = results.Select((r, i) => r.Status == BudgetStatus.Completed ? partial[i] : 0).ToArray();
        return BudgetEvaluationRow.From(method.Name, strategyName, label, budgetMs, results, jobs, strict, partial, settings.Seed + _cells++);
    }

    private BudgetedRequest Request(int[] prompt, TimeSpan budget, OverrunStrategy strategy, BudgetEvaluationMethod method) => new()
    {
        PromptIds = prompt,
        Budget = budget,
        Overrun = strategy,
        MaxNewTokens = settings.MaxNewTokens,
        Sampling = settings.Sampling,
        Planner = method.Planner,
    };

    /// <summary>
    /// Held-out prompts: stories the model samples from BOS (seeded, temperature 1, top-p 0.9), cut after a prefix
    /// of 8–96 tokens. The seed differs from the distillation default, so these are not the RLP's training prompts.
    /// </summary>
    internal static List<int[]> BuildPrompts(CausalLanguageModel model, EvaluationSettings settings)
    {
        var random = new Random(settings.Seed);
        var prompts = new List<int[]>();
        using var sampling = new StorySampler(model);
        int bos = model.GenerationConfig.BosTokenId ?? 1;
        while (prompts.Count < settings.Prompts)
        {
            var story = sampling.Sample([bos], 128, random.Next());
            if (story.Count < 16) continue;
            int cut = random.Next(8, Math.Min(96, story.Count - 4));
            prompts.Add([bos, .. story.Take(cut)]);
        }
        return prompts;
    }
}

/// <summary>Workload of the TimeBill evaluation.</summary>
internal sealed record EvaluationSettings
{
    /// <summary>Held-out prompts per cell: 100 keeps one prompt's weight in a cell's completion rate at 1 %.</summary>
    public int Prompts { get; init; } = 100;
    public int MaxNewTokens { get; init; } = 256;
    public int Seed { get; init; } = 7001;
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;
    public IReadOnlyList<double> Percentiles { get; init; } = [90, 75, 50, 25, 10];
    public IReadOnlyList<double> FixedAlphas { get; init; } = [0.25, 0.5, 0.75, 0.95];
    public IReadOnlyList<double> PessimismSweep { get; init; } = [1, 2, 3, 4, 5, 6, 7, 8];
    /// <summary>k of the TimeBill methods.</summary>
    public double Pessimism { get; init; } = WorstCaseResponseLength.DefaultPessimism;
    /// <summary>How k was chosen, for the report.</summary>
    public string PessimismSource { get; init; } = "the library default";
    public ExitPolicy Exit { get; init; } = ExitPolicy.AtThreshold(0.9);
}
