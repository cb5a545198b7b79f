using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using TimeBill.Cli.Evaluation;
using TimeBill.Cli.Output;
using TimeBill.Core.Budget;
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
        var prompts = new Option<int>("--prompts") { Description = "Held-out prompts per cell.", DefaultValueFactory = _ => 12 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Cap on generated tokens.", DefaultValueFactory = _ => 256 };
        var seed = new Option<int>("--seed") { Description = "Seed of the prompt construction.", DefaultValueFactory = _ => 7001 };
        var output = new Option<string>("--out") { Description = "Results folder.", DefaultValueFactory = _ => "results/eval" };
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();
        var command = new Command("eval", "Reproduce the TimeBill evaluation: completion rate and score vs budget for vanilla, fixed α, TimeBill and TimeBill + exit.")
        {
            model, profile, rlp, exit, prompts, maxTokens, seed, output, threads, json,
        };
        command.SetGuardedAction(async (parse, cancellationToken) =>
        {
            ModelOptions.SetThreads(parse.GetValue(threads));
            bool asJson = parse.GetValue(json);
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(asJson ? Console.Error : Console.Out) });
            string folder = parse.GetValue(model)!;
            using var lm = CausalLanguageModel.Load(folder);
            var tokenizer = TextTokenizer.Load(folder, lm.GenerationConfig.BosTokenId);
            var clock = Stopwatch.StartNew();

            IExecutionTimeEstimator estimator;
            if (parse.GetValue(profile) is string profilePath)
            {
                var loaded = ExecutionTimeProfile.Load(profilePath);
                loaded.EnsureMatches(ModelProfilingTarget.IdentityOf(lm.Config), "float32", parse.GetValue(threads));
                estimator = loaded.CreateRecalibratingEstimator();
            }
            else
            {
                console.MarkupLine("[grey]profiling the model (no --profile given)…[/]");
                int longest = lm.Config.MaxPositions - 1;
                using var target = new ModelProfilingTarget(lm, longest, longest);
                var options = new ExecutionTimeProfilerOptions { MaxPromptLength = longest, MaxKvLength = longest };
                estimator = new ExecutionTimeProfiler().Run(target, options, cancellationToken: cancellationToken).CreateRecalibratingEstimator();
            }
            IResponseLengthPredictor? lengths = parse.GetValue(rlp) is string rlpPath ? LengthPredictorFile.Load(rlpPath, lm) : null;
            using var exits = parse.GetValue(exit) is string exitPath ? ExitModel.Load(exitPath, lm) : null;
            using var generator = new BudgetedGenerator(lm, tokenizer, estimator, lengths, exits);

            var settings = new EvaluationSettings { Prompts = parse.GetValue(prompts), MaxNewTokens = parse.GetValue(maxTokens), Seed = parse.GetValue(seed) };
            TimeBillEvaluation.Report report = null!;
            await console.Status().StartAsync("evaluating", async context =>
            {
                var progress = new Progress<string>(step => context.Status(Markup.Escape(step)));
                report = await new TimeBillEvaluation(generator, settings, progress).RunAsync(cancellationToken);
            });
            var files = BudgetEvaluationWriter.Write(report, parse.GetValue(output)!);
            if (asJson)
                JsonOutput.Write(new { report.Prompts, report.Budgets, report.VanillaMeanLength, Rows = report.Rows, PessimismSweep = report.PessimismSweep, Files = files, Seconds = clock.Elapsed.TotalSeconds });
            else
            {
                console.WriteLine(BudgetEvaluationWriter.Markdown(report));
                console.MarkupLine($"[grey]wrote {string.Join(", ", files.Select(Markup.Escape))} in {clock.Elapsed.TotalSeconds:F0} s[/]");
            }
            return 0;
        });
        return command;
    }
}
