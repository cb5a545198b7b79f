using System.Diagnostics;
using TimeBill.Core.Budget;
using TimeBill.Core.Eviction;
using TimeBill.Core.Planning;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// Timing fidelity at a realistic size: the planner and the Kill deadline on a random-weight model shape, with prompts
/// of random ids and response lengths drawn from a real model's distribution, given to the run as exact lengths (the
/// planner's N̂, with k = 1, and the token cap, with no stop token). Random weights carry no quality, so this reports
/// timing only: completion rate, overshoot (result returned − deadline), prefill overruns, and how far measured
/// prefill and decode times were from the estimator's predictions. Budgets are percentiles of the jobs' measured vanilla
/// end-to-end latencies in an unconstrained reference pass, as in the TimeBill evaluation.
/// </summary>
internal sealed class TimingEvaluation(BudgetedGenerator generator, ExactLengthPredictor lengths, TimingSettings settings, IProgress<string>? progress = null)
{
    /// <summary>The result: per-cell rows, every job, the budgets and the workload.</summary>
    public sealed record Report(IReadOnlyList<TimingEvaluationRow> Rows, IReadOnlyList<BudgetEvaluationJob> Jobs,
        IReadOnlyDictionary<string, double> Budgets, IReadOnlyList<int> PromptLengths, IReadOnlyList<int> ResponseLengths,
        IReadOnlyList<double> VanillaLatenciesMs, string ModelIdentity);

    public async Task<Report> RunAsync(IReadOnlyList<int> responseLengthPool, CancellationToken cancellationToken)
    {
        var random = new Random(settings.Seed);
        var model = generator.Model;
        int bos = model.GenerationConfig.BosTokenId ?? 1;
        var prompts = new List<int[]>();
        var responses = new List<int>();
        for (int i = 0; i < settings.Jobs; i++)
        {
            int length = random.Next(settings.MinPromptLength, settings.MaxPromptLength + 1);
            int[] prompt = [bos, .. Enumerable.Range(0, length - 1).Select(_ => random.Next(3, model.Config.VocabSize))];
            int response = Math.Clamp(responseLengthPool[random.Next(responseLengthPool.Count)], 1, model.Config.MaxPositions - length);
            prompts.Add(prompt);
            responses.Add(response);
            lengths.Set(prompt, response);
        }

        progress?.Report("warming up");
        generator.WarmUp(new PlannerOptions { Eviction = new SnapKvPolicy() }, cancellationToken);

        // Reference pass: every job unconstrained, as vanilla. Its latencies set the budgets (as in the TimeBill
        // evaluation), and its prefills and steps let a recalibrating estimator catch up with the machine as it is now.
        var vanilla = new PlannerOptions { Pessimism = 1, FixedEvictionRatio = 0, Eviction = new NoEvictionPolicy() };
        var latencies = new List<double>();
        for (int i = 0; i < prompts.Count; i++)
        {
            progress?.Report($"reference pass: job {i + 1}/{prompts.Count} ({prompts[i].Length} → {responses[i]} tokens)");
            long called = Stopwatch.GetTimestamp();
            await generator.GenerateAsync(Request(prompts[i], responses[i], TimeSpan.FromHours(1), OverrunStrategy.SkipNext, vanilla), cancellationToken);
            latencies.Add(Stopwatch.GetElapsedTime(called).TotalMilliseconds);
        }
        var sorted = latencies.Order().ToArray();
        var budgets = settings.Percentiles.ToDictionary(p => $"p{p:0}", p => BudgetEvaluationRow.Percentile(sorted, p / 100));

        var methods = new (string Name, PlannerOptions Planner)[]
        {
            ("vanilla", vanilla),
            ($"fixed α={settings.FixedAlpha:0.##}", new PlannerOptions { Pessimism = 1, FixedEvictionRatio = settings.FixedAlpha }),
            ("timebill", new PlannerOptions { Pessimism = 1 }),
        };
        var rows = new List<TimingEvaluationRow>();
        var jobs = new List<BudgetEvaluationJob>();
        int cell = 0, cells = budgets.Count * methods.Length;
        foreach (var (label, budgetMs) in budgets)
            foreach (var (name, planner) in methods)
            {
                cell++;
                var cellJobs = new List<BudgetEvaluationJob>();
                var results = new List<BudgetedResult>();
                for (int i = 0; i < prompts.Count; i++)
                {
                    progress?.Report($"cell {cell}/{cells}: {label} ({budgetMs / 1000:F1} s) · {name} · job {i + 1}/{prompts.Count} ({prompts[i].Length} → {responses[i]} tokens)");
                    var request = Request(prompts[i], responses[i], TimeSpan.FromMilliseconds(budgetMs), OverrunStrategy.Kill, planner);
                    long called = Stopwatch.GetTimestamp();
                    var result = await generator.GenerateAsync(request, cancellationToken);
                    var returned = Stopwatch.GetElapsedTime(called);
                    results.Add(result);
                    cellJobs.Add(BudgetEvaluationJob.From(name, "kill", label, budgetMs, i, result, returned));
                }
                jobs.AddRange(cellJobs);
                rows.Add(TimingEvaluationRow.From(name, label, budgetMs, results, cellJobs));
            }
        return new Report(rows, jobs, budgets, prompts.Select(p => p.Length).ToList(), responses, latencies, model.Identity);
    }

    /// <summary>A job that runs to exactly <paramref name="length"/> tokens (no stop token) unless the deadline cuts it.</summary>
    private static BudgetedRequest Request(int[] prompt, int length, TimeSpan budget, OverrunStrategy overrun, PlannerOptions planner) => new()
    {
        PromptIds = prompt,
        Budget = budget,
        Overrun = overrun,
        MaxNewTokens = length,
        StopTokenIds = [],
        Planner = planner,
    };
}

/// <summary>Workload of the timing evaluation.</summary>
internal sealed record TimingSettings
{
    public int Jobs { get; init; } = 8;
    public int MinPromptLength { get; init; } = 512;
    public int MaxPromptLength { get; init; } = 2048;
    public int Seed { get; init; } = 7002;
    public double FixedAlpha { get; init; } = 0.5;
    public IReadOnlyList<double> Percentiles { get; init; } = [75, 50, 25];
}
