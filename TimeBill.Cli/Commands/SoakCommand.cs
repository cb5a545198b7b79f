using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using TimeBill.Cli.Evaluation;
using TimeBill.Cli.Output;
using TimeBill.Core.Budget;
using TimeBill.Core.Planning;
using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Cli.Commands;

/// <summary>
/// <c>timebill soak</c>: thousands of mixed budgeted requests from concurrent callers, sampling resident memory, the
/// managed heap and live native tensors; exit code 1 when they grow past the bounds.
/// </summary>
internal static class SoakCommand
{
    /// <summary>Prefill 2 ms, a step 0.3 ms + 0.001 ms per entry: stories260K-scale prices for the plans (the soak measures memory, not timing).</summary>
    internal static ExecutionTimeEstimator Estimator { get; } = new(new ExecutionTimeCoefficients(
        new PrefillCost(0, 0, 2), new DecodeStepCost(0.001, 0.3), new LayeredDecodeStepCost(0.0002, 0.06, 0, 5)));

    /// <summary>The soak's prompts.</summary>
    internal static string[] Prompts { get; } = ["Once upon a time", "The little bird was sad because", "Lily and Tom went to the park.", "One day, a big dog", "Sam had a red ball"];

    public static Command Create()
    {
        var model = ModelOptions.ModelOrDefault();
        var defaults = new SoakSettings();
        var requests = new Option<int>("--requests") { Description = "Requests after the warm-up.", DefaultValueFactory = _ => defaults.Requests };
        var warmUp = new Option<int>("--warm-up") { Description = "Warm-up requests before the baseline reading.", DefaultValueFactory = _ => defaults.WarmUp };
        var concurrency = new Option<int>("--concurrency") { Description = "Callers submitting at once.", DefaultValueFactory = _ => defaults.Concurrency };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Token cap of the ordinary requests (tight-budget ones get 64).", DefaultValueFactory = _ => defaults.MaxNewTokens };
        var samples = new Option<int>("--samples") { Description = "Memory readings over the run.", DefaultValueFactory = _ => defaults.Samples };
        var maxResident = new Option<double>("--max-resident-growth") { Description = "MiB of resident growth (beyond the GC's committed heap) that fails the soak.", DefaultValueFactory = _ => defaults.MaxResidentGrowthMiB };
        var maxManaged = new Option<double>("--max-managed-growth") { Description = "MiB of live managed heap growth that fails the soak.", DefaultValueFactory = _ => defaults.MaxManagedGrowthMiB };
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();
        var command = new Command("soak",
            "Soak test: thousands of mixed requests (every eviction policy, Kill and Skip-Next, early-broken streams, cancellations, concurrent callers); reports resident memory, managed heap and live native tensors over time and fails on growth past the bounds.")
        {
            model, requests, warmUp, concurrency, maxTokens, samples, maxResident, maxManaged, threads, json,
        };
        command.SetGuardedAction(async (parse, cancellationToken) =>
        {
            ModelOptions.SetThreads(parse.GetValue(threads));
            bool asJson = parse.GetValue(json);
            var settings = new SoakSettings
            {
                Requests = parse.GetValue(requests), WarmUp = parse.GetValue(warmUp), Concurrency = parse.GetValue(concurrency),
                MaxNewTokens = parse.GetValue(maxTokens), Samples = parse.GetValue(samples),
                MaxResidentGrowthMiB = parse.GetValue(maxResident), MaxManagedGrowthMiB = parse.GetValue(maxManaged),
            };
            if (settings.Requests < 1 || settings.WarmUp < 0 || settings.Concurrency < 1 || settings.MaxNewTokens < 1 || settings.Samples < 1)
                throw new ArgumentException("--requests, --concurrency, --max-tokens and --samples must be ≥ 1, --warm-up ≥ 0.");
            string folder = parse.GetValue(model)!;
            using var lm = ModelOptions.Open(folder, null);
            var tokenizer = ModelOptions.LoadTokenizer(folder);
            using var generator = new BudgetedGenerator(lm, tokenizer, Estimator);
            generator.WarmUp();
            var prompts = Prompts.Select(tokenizer.EncodePrompt).ToArray();
            Action<SoakSample>? progress = asJson ? null : s => Console.Error.WriteLine(Line(s));
            var report = await new Soak(generator, prompts, settings, progress).RunAsync(cancellationToken);
            if (asJson) JsonOutput.Write(report);
            else Print(report);
            return report.Passed ? 0 : 1;
        });
        return command;
    }

    private static string Line(SoakSample s) => string.Create(CultureInfo.InvariantCulture,
        $"{s.Requests,6} requests {s.Seconds,7:F1} s  resident {s.ResidentMiB,7:F1} MiB  managed {s.ManagedHeapMiB,6:F2} MiB  committed {s.CommittedHeapMiB,6:F1} MiB  live tensors {s.LiveTensors}");

    private static void Print(SoakReport report)
    {
        var table = new Table().AddColumns("requests", "s", "resident MiB", "managed heap MiB", "committed heap MiB", "live tensors");
        foreach (var s in report.Samples)
            table.AddRow(s.Requests.ToString(CultureInfo.InvariantCulture), s.Seconds.ToString("F1", CultureInfo.InvariantCulture),
                s.ResidentMiB.ToString("F1", CultureInfo.InvariantCulture), s.ManagedHeapMiB.ToString("F2", CultureInfo.InvariantCulture),
                s.CommittedHeapMiB.ToString("F1", CultureInfo.InvariantCulture), s.LiveTensors.ToString(CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        foreach (var (outcome, count) in report.Outcomes.OrderBy(o => o.Key, StringComparer.Ordinal))
            AnsiConsole.MarkupLine($"  {count,5}  {Markup.Escape(outcome)}");
        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"growth: resident (beyond committed heap) {report.ResidentGrowthMiB:F1} MiB (bound {report.Settings.MaxResidentGrowthMiB}), managed heap {report.ManagedGrowthMiB:F2} MiB (bound {report.Settings.MaxManagedGrowthMiB}), live tensors {report.TensorGrowth} (bound 0)"));
        AnsiConsole.MarkupLine(report.Passed ? "[green]passed[/]" : $"[red]failed:[/] {Markup.Escape(string.Join("; ", report.Failures))}");
    }
}
