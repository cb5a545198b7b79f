using System.Diagnostics;
using TimeBill.Core.Budget;
using TimeBill.Core.Eviction;
using TimeBill.Core.Planning;
using TimeBill.Predictors.Evaluation;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// The control-loop evaluation: a periodic stream of jobs (period = budget, released every period as in TimeBill's
/// Skip-Next setting) that all start with one fixed system prompt and end with a fresh observation, under Kill and
/// Skip-Next, with prefix reuse off (cold: every job prefills everything) or on (warm: the system prompt comes from
/// the engine's prefix cache), for vanilla (α = 0), fixed α and TimeBill (planned α, N̂ = the token cap without a
/// length predictor). Budgets come from a reference pass of unconstrained vanilla jobs, run cold and warm. With real
/// weights the score is ROUGE-L F1 against the cold unconstrained answer to the same prompt (missed jobs score 0; the
/// partial score counts what they produced); a random-weight shape is timed only and runs every job to the token cap.
/// </summary>
internal sealed class LoopEvaluation(BudgetedGenerator generator, LoopSettings settings, bool scored, Action<double, double, string?>? progress = null)
{
    /// <summary>The result: per-cell rows, every job, the budgets and the reference pass.</summary>
    public sealed record Report(IReadOnlyList<LoopEvaluationRow> Rows, IReadOnlyList<LoopEvaluationJob> Jobs, IReadOnlyDictionary<string, double> Budgets,
        IReadOnlyList<double> ColdLatenciesMs, IReadOnlyList<double> WarmLatenciesMs, IReadOnlyList<double> ColdTimeToFirstTokenMs,
        IReadOnlyList<double> WarmTimeToFirstTokenMs, IReadOnlyList<int> WarmReusedTokens, string ModelIdentity, bool Scored, LoopSettings Settings);

    private static readonly string[] Prefixes = ["cold", "warm"];

    public async Task<Report> RunAsync(CancellationToken cancellationToken)
    {
        var model = generator.Model;
        var cache = generator.Engine.Prefixes ?? throw new ArgumentException("the engine's prefix cache is off; the warm cells need it.");
        var prompts = LoopPrompts.Build(model.Config.VocabSize, model.GenerationConfig.BosTokenId ?? 1, settings.SystemTokens,
            settings.MinObservationTokens, settings.MaxObservationTokens, settings.Jobs, settings.Seed);
        var vanilla = new BudgetEvaluationMethod("vanilla", new PlannerOptions { FixedEvictionRatio = 0, Eviction = new NoEvictionPolicy() });
        BudgetEvaluationMethod[] methods =
        [
            vanilla,
            new($"fixed α={settings.FixedAlpha:0.##}", new PlannerOptions { FixedEvictionRatio = settings.FixedAlpha, Eviction = new SnapKvPolicy() }),
            new("timebill", new PlannerOptions { Pessimism = settings.Pessimism, Eviction = new SnapKvPolicy() }),
        ];
        int references = scored ? settings.Jobs : Math.Min(settings.Jobs, settings.TimingReferenceJobs);
        double total = 2 * references + settings.Budgets.Count * 2 * Prefixes.Length * methods.Length * settings.Jobs, done = 0;

        progress?.Invoke(done, total, "warming up");
        generator.WarmUp(new PlannerOptions { Eviction = new SnapKvPolicy() }, cancellationToken);

        // Reference pass: unconstrained vanilla, cold then warm. The primer stores the system prompt, and the pin keeps
        // it cached for the whole run, as in a loop that has been running for a while.
        var answers = new List<IReadOnlyList<int>>();
        var cold = new List<(double Latency, double Ttft)>();
        var warm = new List<(double Latency, double Ttft, int Reused)>();
        for (int i = 0; i < references; i++)
        {
            progress?.Invoke(done++, total, $"reference pass, cold: job {i + 1}/{references}");
            var (result, ms) = await Timed(Request(prompts.Prompts[i], TimeSpan.FromHours(1), OverrunStrategy.SkipNext, vanilla, reuse: false), cancellationToken);
            answers.Add(result.Ids);
            cold.Add((ms, result.TimeToFirstToken.TotalMilliseconds));
        }
        await generator.GenerateAsync(Request(prompts.Primer, TimeSpan.FromHours(1), OverrunStrategy.SkipNext, vanilla, reuse: true), cancellationToken);
        using var pin = cache.Pin(prompts.System);
        for (int i = 0; i < references; i++)
        {
            progress?.Invoke(done++, total, $"reference pass, warm: job {i + 1}/{references}");
            var (result, ms) = await Timed(Request(prompts.Prompts[i], TimeSpan.FromHours(1), OverrunStrategy.SkipNext, vanilla, reuse: true), cancellationToken);
            warm.Add((ms, result.TimeToFirstToken.TotalMilliseconds, result.ReusedPromptTokens));
        }
        var coldSorted = cold.Select(c => c.Latency).Order().ToArray();
        var warmSorted = warm.Select(w => w.Latency).Order().ToArray();
        var budgets = settings.Budgets.ToDictionary(b => b.Label, b => b.Resolve(coldSorted, warmSorted));

        var rows = new List<LoopEvaluationRow>();
        var jobs = new List<LoopEvaluationJob>();
        int cell = 0, cells = budgets.Count * 2 * Prefixes.Length * methods.Length;
        foreach (var (label, budgetMs) in budgets)
            foreach (var strategy in new[] { OverrunStrategy.Kill, OverrunStrategy.SkipNext })
                foreach (string prefix in Prefixes)
                    foreach (var method in methods)
                    {
                        cell++;
                        string strategyName = strategy == OverrunStrategy.Kill ? "kill" : "skip-next";
                        string name = $"cell {cell}/{cells}: {label} ({budgetMs:F0} ms) · {strategyName} · {prefix} · {method.Name}";
                        var budget = TimeSpan.FromMilliseconds(budgetMs);
                        var requests = prompts.Prompts.Select(p => Request(p, budget, strategy, method, reuse: prefix == "warm"));
                        // The ticks' prompts repeat from cell to cell; a loop's observations do not. Only the pinned system prompt stays.
                        cache.Clear();
                        double before = done;
                        var results = await new JobStreamRunner(generator, new IdleSkippingClock()).RunAsync(StreamJob.Periodic(requests, budget),
                            new Progress<int>(n => progress?.Invoke(before + n, total, $"{name} · job {n}/{settings.Jobs}")), cancellationToken);
                        done += settings.Jobs;
                        var cellJobs = results.Select((r, i) => Job(method.Name, strategyName, prefix, label, budgetMs, i, r, answers)).ToList();
                        jobs.AddRange(cellJobs);
                        rows.Add(LoopEvaluationRow.From(method.Name, strategyName, prefix, label, budgetMs, cellJobs, scored, settings.Seed + 2 * cell));
                    }
        progress?.Invoke(total, total, "done");
        return new Report(rows, jobs, budgets, cold.Select(c => c.Latency).ToList(), warm.Select(w => w.Latency).ToList(),
            cold.Select(c => c.Ttft).ToList(), warm.Select(w => w.Ttft).ToList(), warm.Select(w => w.Reused).ToList(), model.Identity, scored, settings);
    }

    private LoopEvaluationJob Job(string method, string strategy, string prefix, string label, double budgetMs, int tick, BudgetedResult result,
        IReadOnlyList<IReadOnlyList<int>> answers)
    {
        double partial = scored ? SequenceMetrics.RougeLF1(answers[tick], result.Ids) : double.NaN;
        double strict = scored ? (result.Status == BudgetStatus.Completed ? partial : 0) : double.NaN;
        return LoopEvaluationJob.From(method, strategy, prefix, label, budgetMs, tick, result, strict, partial);
    }

    private async Task<(BudgetedResult Result, double Ms)> Timed(BudgetedRequest request, CancellationToken cancellationToken)
    {
        long called = Stopwatch.GetTimestamp();
        var result = await generator.GenerateAsync(request, cancellationToken);
        return (result, Stopwatch.GetElapsedTime(called).TotalMilliseconds);
    }

    /// <summary>A tick's job; a random-weight shape has no meaningful stop token, so its jobs run to the cap.</summary>
    private BudgetedRequest Request(int[] prompt, TimeSpan budget, OverrunStrategy overrun, BudgetEvaluationMethod method, bool reuse) => new()
    {
        PromptIds = prompt,
        Budget = budget,
        Overrun = overrun,
        MaxNewTokens = settings.MaxNewTokens,
        StopTokenIds = scored ? null : [],
        ReusePrefix = reuse,
        Planner = method.Planner,
    };
}
