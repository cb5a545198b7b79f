using System.CommandLine;
using Spectre.Console;
using TimeBill.Cli.Output;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;
using TimeBill.Predictors.Exit;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill train-exit</c>: distil exit heads and the exit-layer predictor from the model's own stories.</summary>
internal static class TrainExitCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder.", Required = true };
        var output = new Option<string>("--out") { Description = "Exit heads file to write (JSON).", Required = true };
        var stories = new Option<int>("--stories-per-prompt") { Description = "Stories sampled per training opening (T=1, top-p 0.9).", DefaultValueFactory = _ => 8 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens per sampled story at most.", DefaultValueFactory = _ => 192 };
        var headSteps = new Option<int>("--head-steps") { Description = "Adam steps of head distillation.", DefaultValueFactory = _ => 1000 };
        var rank = new Option<int>("--rank") { Description = "Rank of each layer's adapter.", DefaultValueFactory = _ => 16 };
        var seed = new Option<int>("--seed") { Description = "Seed of sampling and training.", DefaultValueFactory = _ => 0 };
        var weights = ModelOptions.Weights();
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();
        var command = new Command("train-exit", "Train exit heads (KL distillation, base frozen) and the exit-layer predictor; write them with the model identity.")
        {
            model, weights, output, stories, maxTokens, headSteps, rank, seed, threads, json,
        };
        command.SetGuardedAction(async (parse, cancellationToken) =>
        {
            ModelOptions.SetThreads(parse.GetValue(threads));
            string folder = parse.GetValue(model)!;
            using var lm = ModelOptions.Load(folder, parse.GetValue(weights));
            var tokenizer = TextTokenizer.Load(folder, lm.GenerationConfig.BosTokenId);
            var options = new ExitTrainingOptions { HeadSteps = parse.GetValue(headSteps), Rank = parse.GetValue(rank), Seed = parse.GetValue(seed) };
            bool asJson = parse.GetValue(json);
            var (exits, report) = await TrainAsync(lm, tokenizer, parse.GetValue(stories), parse.GetValue(maxTokens), options, asJson, cancellationToken);
            using (exits)
            {
                string path = parse.GetValue(output)!;
                exits.Save(path);
                if (asJson)
                {
                    JsonOutput.Write(new { Model = lm.Identity, File = path, Report = report, Calibration = exits.Calibration.Points });
                    return 0;
                }
                WriteReport(report, exits, path);
                return 0;
            }
        });
        return command;
    }

    /// <summary>Samples stories, distils heads and predictor, reporting the phases on stderr (stdout stays clean for JSON).</summary>
    internal static async Task<(ExitModel Exits, ExitTrainingReport Report)> TrainAsync(CausalLanguageModel lm, TextTokenizer tokenizer,
        int storiesPerPrompt, int maxTokens, ExitTrainingOptions options, bool quietStdout, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(storiesPerPrompt, 2);
        var console = quietStdout ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }) : AnsiConsole.Console;
        (ExitModel, ExitTrainingReport) result = default;
        await console.Status().StartAsync("sampling the model's own stories…", async ctx =>
        {
            var stories = await Task.Run(() => ExitDistillationSet.SampleStories(lm, tokenizer, ExitPrompts.Training, storiesPerPrompt, maxTokens, options.Seed), cancellationToken);
            ctx.Status($"distilling {stories.Count} stories ({stories.Sum(s => s.Length)} tokens) into exit heads…");
            result = await Task.Run(() =>
            {
                using var train = ExitDistillationSet.FromSequences(lm, stories.Where((_, i) => i % 5 != 4).ToList());
                using var held = ExitDistillationSet.FromSequences(lm, stories.Where((_, i) => i % 5 == 4).ToList());
                return ExitTrainer.Train(lm, train, held, options);
            }, cancellationToken);
        });
        return result;
    }

    internal static void WriteReport(ExitTrainingReport report, ExitModel exits, string path)
    {
        var heads = new Table().AddColumns("exit after layer", "KL before", "KL after", "top-1 agreement");
        for (int k = 0; k < report.ExitLayers.Count; k++)
            heads.AddRow(report.ExitLayers[k].ToString(), $"{report.KlBefore[k]:F3}", $"{report.KlAfter[k]:F3}", $"{report.Top1AgreementAfter[k]:P1}");
        AnsiConsole.Write(heads);
        AnsiConsole.MarkupLine($"predictor: held-out BCE {report.PredictorLoss:F4} vs constant {report.ConstantBaselineLoss:F4}; exit-layer accuracy at τ={report.ReportThreshold} {report.PredictorExitAccuracy:P1} vs majority {report.ConstantExitAccuracy:P1}");
        var calibration = new Table().AddColumns("τ", "classic layers", "classic heads", "classic agree", "predictive layers", "predictive heads", "predictive agree");
        foreach (var p in exits.Calibration.Points)
            calibration.AddRow($"{p.Threshold}", $"{p.ClassicLayers:F2}", $"{p.ClassicHeads:F2}", $"{p.ClassicAgreement:P1}", $"{p.PredictiveLayers:F2}", $"{p.PredictiveHeads:F2}", $"{p.PredictiveAgreement:P1}");
        AnsiConsole.Write(calibration);
        AnsiConsole.MarkupLine($"{report.TrainTokens} train / {report.HeldOutTokens} held-out tokens, {report.Elapsed.TotalSeconds:F1} s; wrote [bold]{Markup.Escape(path)}[/]");
    }
}
