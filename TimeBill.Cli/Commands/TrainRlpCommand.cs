using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using TimeBill.Cli.Output;
using TimeBill.Core.Model;
using TimeBill.Predictors.ResponseLength;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill train-rlp</c>: trains the response-length predictors (both kinds, each B) and the baselines.</summary>
internal static class TrainRlpCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder of the target model.", Required = true };
        var dataset = RlpDataOptions.Dataset();
        var output = RlpDataOptions.Predictors();
        var maxStories = RlpDataOptions.MaxStories();
        var kinds = new Option<string>("--kinds") { Description = "Comma list of small, probe, baselines.", DefaultValueFactory = _ => "small,probe,baselines" };
        var widths = new Option<string>("--bucket-widths") { Description = "Bucket widths B of the fine-grained classifiers.", DefaultValueFactory = _ => "4,8,16" };
        var epochs = new Option<int>("--epochs") { Description = "Maximum epochs (early stopping on validation MAE).", DefaultValueFactory = _ => 12 };
        var patience = new Option<int>("--patience") { Description = "Epochs without improvement before stopping.", DefaultValueFactory = _ => 3 };
        var smoothing = new Option<double>("--smoothing") { Description = "Label mass moved to neighbouring buckets.", DefaultValueFactory = _ => 0.2 };
        var quantile = new Option<double>("--quantile") { Description = "Quantile of the predicted distribution used as N̂ (0.5 = median).", DefaultValueFactory = _ => 0.5 };
        var window = new Option<int>("--window") { Description = "Small transformer: last prompt tokens read.", DefaultValueFactory = _ => 48 };
        var dim = new Option<int>("--dim") { Description = "Small transformer: model dimension.", DefaultValueFactory = _ => 48 };
        var layers = new Option<int>("--layers") { Description = "Small transformer: encoder blocks.", DefaultValueFactory = _ => 2 };
        var probeLayer = new Option<int?>("--probe-layer") { Description = "Self-probe: target layer read (default: last)." };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation and batch order.", DefaultValueFactory = _ => 1 };
        var weights = ModelOptions.Weights();
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();
        var command = new Command("train-rlp", "Train the response-length predictors (small transformer, self-probe) and the baselines on a distilled dataset.")
        {
            model, weights, dataset, output, maxStories, kinds, widths, epochs, patience, smoothing, quantile, window, dim, layers, probeLayer, seed, threads, json,
        };
        command.SetGuardedAction((parse, cancellationToken) =>
        {
            ModelOptions.SetThreads(parse.GetValue(threads));
            bool asJson = parse.GetValue(json);
            var (settings, train, validation, _) = RlpDataOptions.Load(parse.GetValue(dataset)!, parse.GetValue(maxStories));
            using var lm = ModelOptions.Load(parse.GetValue(model)!, parse.GetValue(weights));
            if (!lm.IsIdentifiedBy(settings.ModelIdentity))
                throw new ArgumentException($"the dataset was distilled from '{settings.ModelIdentity}', not '{lm.Identity}'.");
            var kindSet = parse.GetValue(kinds)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            var unknown = kindSet.Except(["small", "probe", "baselines"]).ToList();
            if (unknown.Count > 0) throw new ArgumentException($"--kinds: unknown {string.Join(", ", unknown)}; use small, probe, baselines.");
            var options = new RlpSuiteOptions
            {
                BucketWidths = ParseInts(parse.GetValue(widths)!, "--bucket-widths"),
                SmallModel = kindSet.Contains("small"),
                SelfProbe = kindSet.Contains("probe"),
                Baselines = kindSet.Contains("baselines"),
                Shape = new SmallModelShape(parse.GetValue(dim), parse.GetValue(layers), 4, parse.GetValue(window)),
                ProbeLayer = parse.GetValue(probeLayer),
                Training = new RlpTrainingOptions
                {
                    MaxEpochs = parse.GetValue(epochs), Patience = parse.GetValue(patience), NeighbourSmoothing = parse.GetValue(smoothing),
                    Quantile = parse.GetValue(quantile), Seed = parse.GetValue(seed),
                },
            };
            if (options.Training.MaxEpochs <= 0) throw new ArgumentException("--epochs must be positive.");
            if (!(options.Training.Quantile is > 0 and < 1)) throw new ArgumentException("--quantile must lie in (0, 1).");
            var clock = Stopwatch.StartNew();
            var trained = ProgressDisplay.Run(asJson, "train-rlp", report =>
                RlpSuiteTrainer.TrainAll(lm, train, validation, parse.GetValue(output)!, options, (text, done) => report(done, 1, text), cancellationToken));
            double seconds = clock.Elapsed.TotalSeconds;
            if (asJson)
            {
                JsonOutput.Write(new
                {
                    Model = lm.Identity,
                    Train = train.Count,
                    Validation = validation.Count,
                    Seconds = seconds,
                    Predictors = trained.Select(t => new
                    {
                        t.Name, t.Path, Buckets = t.Head.IsRegression ? 0 : t.Head.Buckets.Count, BucketWidth = t.Head.BucketWidth,
                        t.Report.Epochs, t.Report.BestEpoch, t.Report.BestValidationMae, TrainSeconds = t.Report.Seconds,
                    }),
                });
                return Task.FromResult(0);
            }
            var table = new Table().AddColumns("predictor", "B", "buckets", "epochs", "best epoch", "val MAE", "seconds");
            foreach (var t in trained)
                table.AddRow(t.Name, t.Head.IsRegression ? "-" : t.Head.BucketWidth.ToString(), t.Head.IsRegression ? "-" : t.Head.Buckets.Count.ToString(),
                    t.Report.Epochs.ToString(), t.Report.BestEpoch.ToString(), $"{t.Report.BestValidationMae:F1}", $"{t.Report.Seconds:F1}");
            AnsiConsole.Write(table);
            Console.WriteLine($"{train.Count} train / {validation.Count} validation prompts; {seconds:F1} s in all; files in {Path.GetFullPath(parse.GetValue(output)!)}");
            return Task.FromResult(0);
        });
        return command;
    }

    internal static int[] ParseInts(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var values = parts.Select(p => int.TryParse(p, out int v) && v > 0 ? v : throw new ArgumentException($"{option}: '{p}' is not a positive integer.")).ToArray();
        return values.Length > 0 ? values : throw new ArgumentException($"{option} is empty.");
    }
}
