using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using TimeBill.Cli.Evaluation;
using TimeBill.Cli.Output;
using TimeBill.Core.Budget;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;
using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Cli.Commands;

/// <summary>
/// <c>timebill eval-loop</c>: a control loop's periodic job stream behind a fixed system prompt, cold vs warm prefix,
/// for vanilla, fixed α and TimeBill under Kill and Skip-Next.
/// </summary>
internal static class EvalLoopCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        var shape = ModelOptions.Shape();
        var profile = new Option<string?>("--profile") { Description = "Execution-time profile (timebill profile --out); default: the cached quick profile of this machine, measured once." };
        var systemTokens = new Option<int?>("--system-tokens") { Description = "System prompt length (300–1,500 tokens; default 1,000, or what fits the model's context)." };
        var observation = new Option<string>("--observation-tokens") { Description = "Observation length per tick, MIN-MAX tokens.", DefaultValueFactory = _ => "20-80" };
        var jobs = new Option<int>("--jobs") { Description = "Ticks per cell (every budget × strategy × prefix × method runs them all).", DefaultValueFactory = _ => 100 };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Cap on generated tokens (default 32 with real weights, 8 on a shape: its jobs always run to the cap)." };
        var budgets = new Option<string>("--budgets")
        {
            Description = "Comma-separated budgets (= periods): milliseconds, or cold-pNN / warm-pNN, a percentile of the reference pass's vanilla latency with the prefix cold or warm.",
            DefaultValueFactory = _ => "warm-p50,warm-p90",
        };
        var alpha = new Option<double>("--alpha") { Description = "Eviction ratio of the fixed-α method.", DefaultValueFactory = _ => 0.5 };
        var seed = new Option<int>("--seed") { Description = "Seed of the prompts and the bootstrap.", DefaultValueFactory = _ => 7003 };
        var output = new Option<string>("--out") { Description = "Results folder.", DefaultValueFactory = _ => "results/eval-loop" };
        var weights = ModelOptions.Weights();
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();
        var command = new Command("eval-loop",
            "Control-loop evaluation: a periodic job stream behind a fixed system prompt, prefix reuse off vs on, for vanilla, fixed α and TimeBill under Kill and Skip-Next.")
        {
            model, shape, weights, profile, systemTokens, observation, jobs, maxTokens, budgets, alpha, seed, output, threads, json,
        };
        command.SetGuardedAction(async (parse, cancellationToken) =>
        {
            int threadCount = parse.GetValue(threads);
            ModelOptions.SetThreads(threadCount);
            bool asJson = parse.GetValue(json);
            var (minObservation, maxObservation) = ParseRange(parse.GetValue(observation)!);
            int jobCount = parse.GetValue(jobs);
            if (jobCount < 1) throw new ArgumentException($"--jobs must be ≥ 1, not {jobCount}.");
            double fixedAlpha = parse.GetValue(alpha);
            if (!(fixedAlpha > 0 && fixedAlpha < 1)) throw new ArgumentException($"--alpha must lie in (0, 1), not {fixedAlpha}.");
            var budgetList = LoopBudget.ParseList(parse.GetValue(budgets)!);
            string? folder = parse.GetValue(model), shapeFile = parse.GetValue(shape);
            var clock = Stopwatch.StartNew();

            using var lm = ModelOptions.Open(folder, shapeFile, weights: parse.GetValue(weights));
            bool scored = shapeFile is null;
            int newTokens = parse.GetValue(maxTokens) ?? (scored ? 32 : 8);
            if (newTokens < 1) throw new ArgumentException($"--max-tokens must be ≥ 1, not {newTokens}.");
            int room = lm.Config.MaxPositions - 1 - maxObservation - newTokens;
            int system = parse.GetValue(systemTokens) ?? Math.Min(1000, room);
            if (system < 1) throw new ArgumentException($"the model's {lm.Config.MaxPositions}-token context has no room for a system prompt beside {maxObservation} observation and {newTokens} new tokens.");
            if (system > room)
                throw new ArgumentException($"--system-tokens {system} + {maxObservation} observation + {newTokens} new tokens do not fit the model's {lm.Config.MaxPositions}-token context (at most {room} system tokens).");

            var tokenizer = scored ? ModelOptions.LoadTokenizer(folder ?? ModelOptions.DefaultModelFolder) : null;
            using var engine = new GenerationEngine(lm);
            var estimator = Profile(engine, parse.GetValue(profile), threadCount, cancellationToken).CreateRecalibratingEstimator();
            using var generator = new BudgetedGenerator(engine, tokenizer, estimator);
            var settings = new LoopSettings
            {
                SystemTokens = system, MinObservationTokens = minObservation, MaxObservationTokens = maxObservation, Jobs = jobCount,
                MaxNewTokens = newTokens, Budgets = budgetList, FixedAlpha = fixedAlpha, Seed = parse.GetValue(seed),
            };
            var report = ProgressDisplay.Run(json: true, "control loop", report =>
                new LoopEvaluation(generator, settings, scored, report).RunAsync(cancellationToken).GetAwaiter().GetResult());
            var files = LoopEvaluationWriter.Write(report, parse.GetValue(output)!);
            if (asJson)
                JsonOutput.Write(new
                {
                    report.ModelIdentity, TimingOnly = !scored, settings.SystemTokens, ObservationTokens = new[] { minObservation, maxObservation }, settings.Jobs,
                    settings.MaxNewTokens, Budgets = report.Budgets.Select(b => new { Label = b.Key, Ms = b.Value }), report.ColdLatenciesMs, report.WarmLatenciesMs, report.ColdTimeToFirstTokenMs, report.WarmTimeToFirstTokenMs,
                    report.WarmReusedTokens, report.Rows, Files = files, Seconds = clock.Elapsed.TotalSeconds,
                });
            else
            {
                AnsiConsole.Console.WriteLine(LoopEvaluationWriter.Markdown(report));
                AnsiConsole.MarkupLine($"[grey]wrote {string.Join(", ", files.Select(Markup.Escape))} in {clock.Elapsed.TotalSeconds:F0} s[/]");
            }
            return 0;
        });
        return command;
    }

    /// <summary>"MIN-MAX" (or one number) with 1 ≤ MIN ≤ MAX.</summary>
    internal static (int Min, int Max) ParseRange(string text)
    {
        var parts = text.Split('-', StringSplitOptions.TrimEntries);
        bool ok = parts.Length is 1 or 2 & parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _));
        if (ok)
        {
            int min = int.Parse(parts[0], CultureInfo.InvariantCulture), max = int.Parse(parts[^1], CultureInfo.InvariantCulture);
            if (min >= 1 && max >= min) return (min, max);
        }
        throw new ArgumentException($"--observation-tokens must be MIN-MAX with 1 ≤ MIN ≤ MAX (e.g. 20-80), not '{text}'.");
    }

    /// <summary>The given profile, checked against this model and thread count; else the cached quick profile of this machine, measured and cached the first time.</summary>
    internal static ExecutionTimeProfile Profile(GenerationEngine engine, string? path, int threads, CancellationToken cancellationToken)
    {
        var key = new ProfileKey(ModelProfilingTarget.IdentityOf(engine.Model.Config), engine.WeightFormat, threads, MachineDescription.Current());
        Action<string> warn = message => Console.Error.WriteLine($"warning: {message}");
        if (path is not null)
        {
            var given = ExecutionTimeProfile.Load(path);
            given.EnsureMatches(key, warn);
            return given;
        }
        var cache = new ProfileCache();
        if (cache.TryLoad(key, warn) is { } cached) return cached;
        var measured = QuickProfile.Measure(engine, ProfilingNotice.ToStandardError(), cancellationToken);
        cache.TrySave(measured, warn);
        return measured;
    }
}
