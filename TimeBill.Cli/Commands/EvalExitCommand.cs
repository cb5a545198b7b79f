using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using CsvHelper;
using Spectre.Console;
using TimeBill.Cli.Output;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;
using TimeBill.Predictors.Exit;

namespace TimeBill.Cli.Commands;

/// <summary>
/// <c>timebill eval-exit</c>: full depth vs classic early exit vs predictive exit on held-out prompts, greedy and
/// sampled, over a sweep of τ; writes a Markdown table, a CSV and a quality-vs-speed plot.
/// </summary>
internal static class EvalExitCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder.", Required = true };
        var exitsFile = new Option<string?>("--exits") { Description = "Exit heads file; trained (and written there) when missing. Default: OUT/exit-heads.json." };
        var prompts = new Option<int>("--prompts") { Description = "Held-out prompts to evaluate.", DefaultValueFactory = _ => 12 };
        var steps = new Option<int>("--steps") { Description = "Decoded tokens per prompt.", DefaultValueFactory = _ => 128 };
        var thresholds = new Option<string>("--thresholds") { Description = "Comma-separated τ values (top-1 probability).", DefaultValueFactory = _ => "0.3,0.5,0.7,0.8,0.9,0.95" };
        var noSampled = new Option<bool>("--greedy-only") { Description = "Skip the sampled comparison." };
        var outDir = new Option<string>("--out") { Description = "Folder for exit-eval.md, exit-eval.csv, exit-eval.png.", DefaultValueFactory = _ => "exit-eval" };
        var seed = new Option<int>("--seed") { Description = "Seed of training and sampling.", DefaultValueFactory = _ => 0 };
        var weights = ModelOptions.Weights();
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();
        var command = new Command("eval-exit", "Compare full depth, classic early exit and predictive exit: depth, head evaluations, tokens/s and quality vs full depth.")
        {
            model, weights, exitsFile, prompts, steps, thresholds, noSampled, outDir, seed, threads, json,
        };
        command.SetGuardedAction(async (parse, cancellationToken) =>
        {
            var clock = Stopwatch.StartNew();
            ModelOptions.SetThreads(parse.GetValue(threads));
            string folder = parse.GetValue(model)!;
            bool asJson = parse.GetValue(json);
            string output = parse.GetValue(outDir)!;
            Directory.CreateDirectory(output);
            string exitsPath = parse.GetValue(exitsFile) ?? Path.Combine(output, "exit-heads.json");
            var taus = parse.GetValue(thresholds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(t => double.TryParse(t, CultureInfo.InvariantCulture, out double v) && v >= 0 ? v : throw new ArgumentException($"--thresholds: '{t}' is not a number ≥ 0."))
                .ToArray();
            int count = parse.GetValue(prompts);
            if (count <= 0 || count > ExitPrompts.HeldOut.Count) throw new ArgumentException($"--prompts must lie in 1..{ExitPrompts.HeldOut.Count}.");

            using var lm = ModelOptions.Load(folder, parse.GetValue(weights));
            var tokenizer = TextTokenizer.Load(folder, lm.GenerationConfig.BosTokenId);
            bool trained = !File.Exists(exitsPath);
            ExitTrainingReport? report = null;
            ExitModel exits;
            if (trained)
            {
                (exits, report) = await TrainExitCommand.TrainAsync(lm, tokenizer, 8, 192, new ExitTrainingOptions { Seed = parse.GetValue(seed) }, asJson, cancellationToken);
                exits.Save(exitsPath);
            }
            else exits = ExitModel.Load(exitsPath, lm);
            double trainSeconds = clock.Elapsed.TotalSeconds;

            using (exits)
            {
                var promptIds = ExitPrompts.HeldOut.Take(count).Select(tokenizer.EncodePrompt).ToArray();
                var options = new ExitEvaluationOptions { Steps = parse.GetValue(steps), Thresholds = taus, Sampled = !parse.GetValue(noSampled), Seed = parse.GetValue(seed) };
                var console = asJson ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }) : AnsiConsole.Console;
                IReadOnlyList<ExitEvaluationRow> rows = [];
                await console.Progress().StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("decoding (every method, in rotating order)");
                    using var engine = new GenerationEngine(lm);
                    rows = await Task.Run(() => ExitEvaluation.Run(engine, exits, promptIds, options, (done, total) =>
                    {
                        task.MaxValue = total;
                        task.Value = done;
                        cancellationToken.ThrowIfCancellationRequested();
                    }), cancellationToken);
                });

                string markdown = Markdown(rows, lm, options, count);
                File.WriteAllText(Path.Combine(output, "exit-eval.md"), markdown);
                using (var writer = new StreamWriter(Path.Combine(output, "exit-eval.csv")))
                using (var csv = new CsvWriter(writer, CultureInfo.InvariantCulture))
                    csv.WriteRecords(rows);
                string plot = Path.Combine(output, "exit-eval.png");
                Plot(rows, plot);

                if (asJson)
                {
                    JsonOutput.Write(new
                    {
                        Model = lm.Identity,
                        ExitsFile = exitsPath,
                        Trained = trained,
                        TrainSeconds = trained ? trainSeconds : 0,
                        Training = report,
                        Prompts = count,
                        options.Steps,
                        Calibration = exits.Calibration.Points,
                        Rows = rows,
                        Files = new[] { Path.Combine(output, "exit-eval.md"), Path.Combine(output, "exit-eval.csv"), plot },
                        ElapsedS = clock.Elapsed.TotalSeconds,
                    });
                    return 0;
                }
                if (report is not null) TrainExitCommand.WriteReport(report, exits, exitsPath);
                Console.WriteLine(markdown);
                Console.WriteLine($"wrote {output}/exit-eval.md, .csv, .png in {clock.Elapsed.TotalSeconds:F0} s");
                return 0;
            }
        });
        return command;
    }

    private static string Markdown(IReadOnlyList<ExitEvaluationRow> rows, CausalLanguageModel lm, ExitEvaluationOptions options, int prompts)
    {
        var text = new StringBuilder();
        text.AppendLine($"Exit comparison on {lm.Identity}: {prompts} held-out prompts × {options.Steps} tokens; all methods decode each prompt together, one step each in rotating order, each step timed (fair under machine load).");
        text.AppendLine();
        text.AppendLine("| decoding | method | τ | layers/token | heads/token | decode tok/s (median step) | speed vs full | tok/s (mean) | token agreement | ROUGE-L F1 | full-model PPL |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Decoding} | {r.Method} | {(double.IsPositiveInfinity(r.Threshold) ? "∞" : r.Threshold.ToString("0.##", CultureInfo.InvariantCulture))} | {r.LayersPerToken:F2} | {r.HeadsPerToken:F2} | {r.TokensPerSecond:F0} | {r.Speedup:F2}× | {r.MeanTokensPerSecond:F0} | {r.TokenAgreement:P1} | {r.RougeL:F3} | {r.Perplexity:F2} |"));
        return text.ToString();
    }

    private static void Plot(IReadOnlyList<ExitEvaluationRow> rows, string path)
    {
        var plot = new ScottPlot.Plot();
        foreach (var group in rows.Where(r => r.Method != "full").GroupBy(r => (r.Decoding, r.Method)))
        {
            var points = group.OrderBy(r => r.Speedup).ToArray();
            var scatter = plot.Add.Scatter(points.Select(r => r.Speedup).ToArray(), points.Select(r => r.RougeL).ToArray());
            scatter.LegendText = $"{group.Key.Method} ({group.Key.Decoding})";
            scatter.MarkerSize = 7;
        }
        var full = rows.Where(r => r.Method == "full").ToArray();
        var marker = plot.Add.Scatter(full.Select(r => r.Speedup).ToArray(), full.Select(r => r.RougeL).ToArray());
        marker.LegendText = "full depth";
        marker.LineWidth = 0;
        marker.MarkerSize = 10;
        plot.Title("Exit: quality vs decode speed (τ sweep)");
        plot.XLabel("decode speed vs full depth (median step, same interleaved run)");
        plot.YLabel("ROUGE-L F1 vs full-depth output");
        plot.ShowLegend();
        plot.SavePng(path, 900, 560);
    }
}
