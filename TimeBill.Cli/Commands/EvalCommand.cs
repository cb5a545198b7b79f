using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using TimeBill.Cli.Contention;
using TimeBill.Cli.Evaluation;
using TimeBill.Cli.Output;
using TimeBill.Core.Budget;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Planning;
using TimeBill.Core.Tokenization;
using TimeBill.Predictors.Exit;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Predictors.ResponseLength;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill eval</c>: the TimeBill evaluation (completion rate and score vs budget, per method).</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder.", Required = true };
        var profile = new Option<string?>("--profile") { Description = "Execution-time profile (timebill profile --out); profiled on the spot when absent." };
        var rlp = new Option<string?>("--rlp") { Description = "Response-length predictor file (timebill train-rlp); without it N̂ is the token cap." };
        var exit = new Option<string?>("--exit") { Description = "Exit heads (timebill train-exit) for the TimeBill + exit method." };
        var prompts = new Option<int>("--prompts") { Description = "Held-out prompts per cell.", DefaultValueFactory = _ => 100 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Cap on generated tokens.", DefaultValueFactory = _ => 256 };
        var seed = new Option<int>("--seed") { Description = "Seed of the prompt construction.", DefaultValueFactory = _ => 7001 };
        var pessimism = new Option<double?>("--pessimism") { Description = "k of the TimeBill methods (default: calibrated from --dataset, else the library default)." };
        var dataset = new Option<string?>("--dataset")
        {
            Description = "Distillation dataset (timebill distill): k is calibrated on its validation split as the smallest k with at most 5 % of responses longer than k·N̂.",
        };
        var percentiles = new Option<string>("--percentiles") { Description = "Budgets: these percentiles of the vanilla end-to-end latency, comma-separated.", DefaultValueFactory = _ => "90,75,50,25,10" };
        var contention = new Option<int>("--contention")
        {
            Description = "CPU-bound processes to run beside the model for the whole evaluation (budgets included), stopped at its end: deadlines on a shared machine.",
            DefaultValueFactory = _ => 0,
        };
        var output = new Option<string>("--out") { Description = "Results folder.", DefaultValueFactory = _ => "results/eval" };
        var weights = ModelOptions.Weights();
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();
        var command = new Command("eval", "Reproduce the TimeBill evaluation: completion rate and score vs budget for vanilla, fixed α, TimeBill and TimeBill + exit.")
        {
            model, weights, profile, rlp, exit, prompts, maxTokens, seed, pessimism, dataset, percentiles, contention, output, threads, json,
        };
        command.SetGuardedAction(async (parse, cancellationToken) =>
        {
            ModelOptions.SetThreads(parse.GetValue(threads));
            var budgetPercentiles = ParsePercentiles(parse.GetValue(percentiles)!);
            int burnerCount = parse.GetValue(contention);
            if (burnerCount is < 0 or > 64) throw new ArgumentException($"--contention must be between 0 and 64 processes, not {burnerCount}.");
            bool asJson = parse.GetValue(json);
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(asJson ? Console.Error : Console.Out) });
            string folder = parse.GetValue(model)!;
            using var lm = ModelOptions.Load(folder, parse.GetValue(weights));
            var tokenizer = TextTokenizer.Load(folder, lm.GenerationConfig.BosTokenId);
            using var engine = new GenerationEngine(lm);
            var clock = Stopwatch.StartNew();

            IExecutionTimeEstimator estimator;
            if (parse.GetValue(profile) is string profilePath)
            {
                var loaded = ExecutionTimeProfile.Load(profilePath);
                loaded.EnsureMatches(ModelProfilingTarget.IdentityOf(lm.Config), engine.WeightFormat, parse.GetValue(threads));
                estimator = loaded.CreateRecalibratingEstimator();
            }
            else
            {
                console.MarkupLine("[grey]profiling the model (no --profile given)…[/]");
                int longest = lm.Config.MaxPositions - 1;
                using var target = new ModelProfilingTarget(engine, longest, longest);
                var options = new ExecutionTimeProfilerOptions { MaxPromptLength = longest, MaxKvLength = longest };
                estimator = new ExecutionTimeProfiler().Run(target, options, cancellationToken: cancellationToken).CreateRecalibratingEstimator();
            }
            IResponseLengthPredictor? lengths = parse.GetValue(rlp) is string rlpPath ? LengthPredictorFile.Load(rlpPath, lm) : null;
            using var exits = parse.GetValue(exit) is string exitPath ? ExitModel.Load(exitPath, lm) : null;
            using var generator = new BudgetedGenerator(engine, tokenizer, estimator, lengths, exits);

            var (k, kSource) = ChoosePessimism(parse.GetValue(pessimism), parse.GetValue(dataset), lengths, console);
            if (parse.GetValue(prompts) < 1) throw new ArgumentException($"--prompts must be ≥ 1, not {parse.GetValue(prompts)}.");
            var settings = new EvaluationSettings
            {
                Prompts = parse.GetValue(prompts), MaxNewTokens = parse.GetValue(maxTokens), Seed = parse.GetValue(seed), Pessimism = k, PessimismSource = kSource,
                Percentiles = budgetPercentiles,
            };
            TimeBillEvaluation.Report report = null!;
            using (var burners = CpuBurners.Start(burnerCount))
            {
                if (burnerCount > 0) console.MarkupLine($"[grey]{burnerCount} CPU-bound processes beside the model: pids {string.Join(", ", burners.ProcessIds)}[/]");
                await console.Status().StartAsync("evaluating", async context =>
                {
                    var progress = new Progress<string>(step => context.Status(Markup.Escape(step)));
                    report = await new TimeBillEvaluation(generator, settings, progress).RunAsync(cancellationToken);
                });
                report = report with { Contention = ContentionReport.Of(burners) };
            }
            var files = BudgetEvaluationWriter.Write(report, parse.GetValue(output)!);
            if (asJson)
                JsonOutput.Write(new { report.Prompts, report.Budgets, report.VanillaMeanLength, report.Pessimism, report.PessimismSource, report.Contention, Rows = report.Rows, PessimismSweep = report.PessimismSweep, Files = files, Seconds = clock.Elapsed.TotalSeconds });
            else
            {
                console.WriteLine(BudgetEvaluationWriter.Markdown(report));
                console.MarkupLine($"[grey]wrote {string.Join(", ", files.Select(Markup.Escape))} in {clock.Elapsed.TotalSeconds:F0} s[/]");
            }
            return 0;
        });
        return command;
    }

    private static double[] ParsePercentiles(string text)
    {
        var values = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(part =>
            double.TryParse(part, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double p) && p is > 0 and <= 100
                ? p : throw new ArgumentException($"--percentiles takes numbers in (0, 100] separated by commas; '{part}' is not one.")).ToArray();
        if (values.Length == 0) throw new ArgumentException("--percentiles needs at least one percentile.");
        if (values.Distinct().Count() != values.Length) throw new ArgumentException($"--percentiles lists a percentile twice: {text}.");
        return values;
    }

    /// <summary>
    /// k: given; or the smallest k with at most 5 % of the validation split's responses longer than k·N̂ under this
    /// predictor (<see cref="PessimismCalibration"/>); or the library default.
    /// </summary>
    private static (double K, string Source) ChoosePessimism(double? given, string? datasetPath, IResponseLengthPredictor? lengths, IAnsiConsole console)
    {
        if (given is double k)
        {
            if (!(k >= 1)) throw new ArgumentException($"--pessimism must be ≥ 1, not {k}.");
            return (k, "given");
        }
        if (datasetPath is null || lengths is null) return (WorstCaseResponseLength.DefaultPessimism, "the library default");
        console.MarkupLine("[grey]calibrating k on the dataset's validation split…[/]");
        var (_, _, validation, _) = RlpDataOptions.Load(datasetPath, 0);
        double[] predicted = validation.Select(r => lengths.Predict(r.PromptIds).Length).ToArray();
        int[] actual = validation.Select(r => r.ResponseLength).ToArray();
        double calibrated = PessimismCalibration.FromExceedance(predicted, actual);
        return (calibrated, FormattableString.Invariant(
            $"calibrated: the smallest k with ≤ {PessimismCalibration.DefaultExceedance:P0} of {validation.Count} validation responses longer than k·N̂"));
    }
}
