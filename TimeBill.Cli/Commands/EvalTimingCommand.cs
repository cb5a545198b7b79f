using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using TimeBill.Cli.Evaluation;
using TimeBill.Cli.Output;
using TimeBill.Core.Budget;
using TimeBill.Core.Model;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Predictors.ResponseLength;

namespace TimeBill.Cli.Commands;

/// <summary>
/// <c>timebill eval-timing</c>: the planner and the Kill deadline on a random-weight model shape at a realistic size
/// (timing only: completion rate, overshoot and estimator error per budget for vanilla, fixed α and TimeBill).
/// </summary>
internal static class EvalTimingCommand
{
    public static Command Create()
    {
        var shape = new Option<string>("--shape") { Description = "config.json of a released model, built with random weights (e.g. ../shared/model-shapes/smollm2-135m.json).", Required = true };
        var profile = new Option<string>("--profile") { Description = "Execution-time profile of that shape on this machine (timebill profile --shape ... --out FILE).", Required = true };
        var lengths = new Option<string>("--lengths")
        {
            Description = "Where response lengths are drawn from: a distillation dataset (timebill distill) or a model folder whose stories are sampled from BOS.",
            Required = true,
        };
        var jobs = new Option<int>("--jobs") { Description = "Jobs per cell (each method × budget runs every job).", DefaultValueFactory = _ => 8 };
        var minPrompt = new Option<int>("--min-prompt") { Description = "Shortest prompt (tokens).", DefaultValueFactory = _ => 512 };
        var maxPrompt = new Option<int>("--max-prompt") { Description = "Longest prompt (tokens).", DefaultValueFactory = _ => 2048 };
        var maxResponse = new Option<int?>("--max-response") { Description = "Cap on the drawn response lengths (default: none; for quick runs)." };
        var alpha = new Option<double>("--alpha") { Description = "Eviction ratio of the fixed-α baseline.", DefaultValueFactory = _ => 0.5 };
        var seed = new Option<int>("--seed") { Description = "Seed of prompts and length draws.", DefaultValueFactory = _ => 7002 };
        var output = new Option<string>("--out") { Description = "Results folder.", DefaultValueFactory = _ => "results/eval-timing" };
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();
        var command = new Command("eval-timing",
            "Timing fidelity at a realistic size: completion rate, overshoot and estimator error per budget for vanilla, fixed α and TimeBill on a random-weight shape (no quality).")
        {
            shape, profile, lengths, jobs, minPrompt, maxPrompt, maxResponse, alpha, seed, output, threads, json,
        };
        command.SetGuardedAction(async (parse, cancellationToken) =>
        {
            int threadCount = parse.GetValue(threads);
            ModelOptions.SetThreads(threadCount);
            bool asJson = parse.GetValue(json);
            var console = ProgressDisplay.Console(asJson);
            var settings = new TimingSettings
            {
                Jobs = parse.GetValue(jobs), MinPromptLength = parse.GetValue(minPrompt), MaxPromptLength = parse.GetValue(maxPrompt),
                FixedAlpha = parse.GetValue(alpha), Seed = parse.GetValue(seed),
            };
            if (settings.Jobs < 1) throw new ArgumentException($"--jobs must be ≥ 1, not {settings.Jobs}.");
            if (settings.MinPromptLength < 2 || settings.MaxPromptLength < settings.MinPromptLength)
                throw new ArgumentException($"prompt lengths must satisfy 2 ≤ --min-prompt ≤ --max-prompt, not {settings.MinPromptLength}..{settings.MaxPromptLength}.");
            if (!(settings.FixedAlpha > 0 && settings.FixedAlpha < 1)) throw new ArgumentException($"--alpha must lie in (0, 1), not {settings.FixedAlpha}.");
            var clock = Stopwatch.StartNew();

            var pool = LoadLengths(parse.GetValue(lengths)!, settings.Seed, console);
            if (parse.GetValue(maxResponse) is int cap)
            {
                if (cap < 1) throw new ArgumentException($"--max-response must be ≥ 1, not {cap}.");
                pool = pool.Select(n => Math.Min(n, cap)).ToList();
            }
            var loaded = ExecutionTimeProfile.Load(parse.GetValue(profile)!);
            using var lm = CausalLanguageModel.CreateRandom(ModelConfig.Load(parse.GetValue(shape)!), seed: 0);
            if (settings.MaxPromptLength >= lm.Config.MaxPositions)
                throw new ArgumentException($"--max-prompt {settings.MaxPromptLength} leaves no room in the shape's {lm.Config.MaxPositions}-token context.");
            loaded.EnsureMatches(ModelProfilingTarget.IdentityOf(lm.Config), "float32", threadCount);
            var exact = new ExactLengthPredictor(lm.Identity, lm.Config.MaxPositions);
            using var generator = new BudgetedGenerator(lm, tokenizer: null, loaded.CreateRecalibratingEstimator(), exact);

            TimingEvaluation.Report report = null!;
            await console.Status().StartAsync("evaluating", async context =>
            {
                var progress = new Progress<string>(step => context.Status(Markup.Escape(step)));
                report = await new TimingEvaluation(generator, exact, settings, progress).RunAsync(pool, cancellationToken);
            });
            var files = TimingEvaluationWriter.Write(report, parse.GetValue(output)!);
            if (asJson)
                JsonOutput.Write(new { report.ModelIdentity, report.Budgets, report.PromptLengths, report.ResponseLengths, report.VanillaLatenciesMs, report.Rows, Files = files, Seconds = clock.Elapsed.TotalSeconds });
            else
            {
                console.WriteLine(TimingEvaluationWriter.Markdown(report));
                console.MarkupLine($"[grey]wrote {string.Join(", ", files.Select(Markup.Escape))} in {clock.Elapsed.TotalSeconds:F0} s[/]");
            }
            return 0;
        });
        return command;
    }

    /// <summary>Response lengths of a distillation dataset's records, or of 200 stories sampled from BOS by a model folder.</summary>
    private static IReadOnlyList<int> LoadLengths(string source, int seed, IAnsiConsole console)
    {
        if (File.Exists(source))
            return DistillationDatasetFile.Read(source).Stories.SelectMany(s => s.Records()).Select(r => r.ResponseLength).ToList();
        if (!Directory.Exists(source)) throw new FileNotFoundException($"length source not found: {source} (a distillation dataset or a model folder).", source);
        console.MarkupLine($"[grey]sampling 200 stories from {Markup.Escape(source)} for response lengths…[/]");
        using var model = CausalLanguageModel.Load(source);
        int bos = model.GenerationConfig.BosTokenId ?? 1;
        using var sampler = new StorySampler(model);
        var random = new Random(seed);
        return Enumerable.Range(0, 200).Select(_ => sampler.Sample([bos], model.Config.MaxPositions - 1, random.Next()).Count).ToList();
    }
}
