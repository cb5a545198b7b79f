using System.CommandLine;
using System.Globalization;
using System.Text;
using CsvHelper;
using TimeBill.Cli.Output;
using TimeBill.Core.Model;
using TimeBill.Predictors.ResponseLength;

namespace TimeBill.Cli.Commands;

/// <summary>
/// <c>timebill eval-rlp</c>: scores the trained predictors on the test prompts between the constant and the oracle lines;
/// writes the table (Markdown, CSV) and a predicted-vs-actual plot.
/// </summary>
internal static class EvalRlpCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder of the target model.", Required = true };
        var dataset = RlpDataOptions.Dataset();
        var predictors = RlpDataOptions.Predictors();
        var maxStories = RlpDataOptions.MaxStories();
        var resample = new Option<string?>("--resample") { Description = "Re-sample file (default: next to the dataset, *.resample.jsonl)." };
        var report = new Option<string>("--report") { Description = "Folder for rlp.md, rlp.csv and rlp.png.", DefaultValueFactory = _ => "results/rlp/report" };
        var weights = ModelOptions.Weights();
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();
        var command = new Command("eval-rlp", "Evaluate response-length predictors: MAE, RMSE, R², bucket accuracy, exceedance of k·N̂, latency.")
        {
            model, weights, dataset, predictors, maxStories, resample, report, threads, json,
        };
        command.SetGuardedAction((parse, cancellationToken) =>
        {
            ModelOptions.SetThreads(parse.GetValue(threads));
            bool asJson = parse.GetValue(json);
            string datasetPath = parse.GetValue(dataset)!;
            var (settings, train, _, test) = RlpDataOptions.Load(datasetPath, parse.GetValue(maxStories));
            using var lm = ModelOptions.Load(parse.GetValue(model)!, parse.GetValue(weights));
            string folder = parse.GetValue(predictors)!;
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"predictor folder not found: {folder} (run train-rlp first).");
            var files = Directory.GetFiles(folder, "*" + RlpSuiteTrainer.Extension).OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new FileNotFoundException($"no *{RlpSuiteTrainer.Extension} files in {folder}.");
            var resampled = LengthResampler.Read(parse.GetValue(resample) ?? Path.ChangeExtension(datasetPath, ".resample.jsonl"));

            var rows = ProgressDisplay.Run(asJson, "eval-rlp", progress =>
                RlpEvaluator.Evaluate(lm, files, train, test, resampled, (text, done) => progress(done, 1, text), cancellationToken));

            string reportFolder = parse.GetValue(report)!;
            Directory.CreateDirectory(reportFolder);
            string markdown = Markdown(rows, test.Count, lm.Identity);
            File.WriteAllText(Path.Combine(reportFolder, "rlp.md"), markdown);
            WriteCsv(Path.Combine(reportFolder, "rlp.csv"), rows);
            string png = Path.Combine(reportFolder, "rlp.png");
            Plot(png, rows);

            if (asJson)
            {
                JsonOutput.Write(new
                {
                    Model = lm.Identity,
                    TestPrompts = test.Count,
                    ResampledPrompts = rows.FirstOrDefault(r => r.Name == "oracle")?.Metrics.Count ?? 0,
                    Report = Path.GetFullPath(reportFolder),
                    Rows = rows.Select(r => new
                    {
                        r.Name, r.Description, r.Buckets, r.Metrics.Count, r.Metrics.Mae, r.Metrics.Rmse, r.Metrics.R2, r.Metrics.BucketAccuracy,
                        Exceedance = r.Metrics.Exceedance.ToDictionary(e => e.K.ToString("0.#", CultureInfo.InvariantCulture), e => e.Share),
                        r.SubsetMae, r.LatencyMicroseconds,
                    }),
                });
            }
            else Console.WriteLine(markdown);
            return Task.FromResult(0);
        });
        return command;
    }

    private static string Markdown(IReadOnlyList<RlpEvaluationRow> rows, int testCount, string identity)
    {
        var ks = LengthMetrics.DefaultKs;
        var sb = new StringBuilder();
        sb.AppendLine($"RLP on {identity}: {testCount} test prompts (oracle: re-sampled subset). Bucket accuracy on {RlpEvaluator.AccuracyBucketWidth}-token buckets.");
        sb.AppendLine();
        sb.AppendLine("| predictor | buckets | MAE | RMSE | R² | bucket acc | " + string.Join(" | ", ks.Select(k => $"> {k:0.#}·N̂")) + " | MAE subset | latency µs |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|" + string.Concat(ks.Select(_ => "---:|")) + "---:|---:|");
        foreach (var r in rows)
        {
            var m = r.Metrics;
            sb.AppendLine($"| {r.Name} | {(r.Buckets > 0 ? r.Buckets.ToString() : "-")} | {m.Mae:F1} | {m.Rmse:F1} | {m.R2:F3} | {m.BucketAccuracy:P1} | "
                + string.Join(" | ", m.Exceedance.Select(e => $"{e.Share:P1}")) + $" | {r.SubsetMae:F1} | {(double.IsNaN(r.LatencyMicroseconds) ? "-" : r.LatencyMicroseconds.ToString("F0"))} |");
        }
        sb.AppendLine();
        foreach (var r in rows) sb.AppendLine($"- {r.Name}: {r.Description}");
        return sb.ToString();
    }

    private static void WriteCsv(string path, IReadOnlyList<RlpEvaluationRow> rows)
    {
        using var writer = new StreamWriter(path);
        using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
        foreach (string h in new[] { "predictor", "buckets", "count", "mae", "rmse", "r2", "bucket_accuracy" }) csv.WriteField(h);
        foreach (double k in LengthMetrics.DefaultKs) csv.WriteField($"exceed_k{k.ToString("0.#", CultureInfo.InvariantCulture)}");
        csv.WriteField("subset_mae");
        csv.WriteField("latency_us");
        csv.WriteField("description");
        csv.NextRecord();
        foreach (var r in rows)
        {
            csv.WriteField(r.Name); csv.WriteField(r.Buckets); csv.WriteField(r.Metrics.Count); csv.WriteField(r.Metrics.Mae); csv.WriteField(r.Metrics.Rmse);
            csv.WriteField(r.Metrics.R2); csv.WriteField(r.Metrics.BucketAccuracy);
            foreach (var e in r.Metrics.Exceedance) csv.WriteField(e.Share);
            csv.WriteField(r.SubsetMae); csv.WriteField(r.LatencyMicroseconds); csv.WriteField(r.Description);
            csv.NextRecord();
        }
    }

    private static void Plot(string path, IReadOnlyList<RlpEvaluationRow> rows)
    {
        var plot = new ScottPlot.Plot();
        var shown = rows.Where(r => r.Name is "probe-b16" or "small-b16" or "small-regression" or "oracle").ToList();
        if (shown.Count == 0) shown = rows.Where(r => r.Buckets > 0).Take(2).ToList();
        foreach (var r in shown)
        {
            var scatter = plot.Add.Scatter(r.Actual.Select(a => (double)a).ToArray(), r.Predicted);
            scatter.LineWidth = 0;
            scatter.MarkerSize = 3;
            scatter.LegendText = $"{r.Name} (MAE {r.Metrics.Mae:F1})";
        }
        var diagonal = plot.Add.Line(0, 0, 512, 512);
        diagonal.LegendText = "predicted = actual";
        plot.XLabel("actual response length (tokens)");
        plot.YLabel("predicted length (tokens)");
        plot.Title("Response-length predictors on test prompts");
        plot.ShowLegend();
        plot.SavePng(path, 900, 700);
    }
}
