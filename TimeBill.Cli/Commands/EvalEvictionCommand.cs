using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;
using TimeBill.Cli.Evaluation;
using TimeBill.Core.Eviction;
using TimeBill.Core.Model;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill eval-eviction</c>: the quality of every eviction policy against the full cache.</summary>
internal static class EvalEvictionCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Model folder (Hugging Face layout), e.g. ../shared/models/stories260K.", Required = true };
        var weights = ModelOptions.Weights();
        var prompts = new Option<int>("--prompts") { Description = "Prompts sampled from the model's own stories.", DefaultValueFactory = _ => 24 };
        var seed = new Option<int>("--seed") { Description = "Seed of prompt sampling and of the random policy.", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for the Markdown table, CSVs and plots.", DefaultValueFactory = _ => new DirectoryInfo("eval-eviction") };
        var policies = new Option<string[]>("--policies") { Description = $"Policies to compare (default all: {string.Join(", ", EvictionPolicies.Names)}).", AllowMultipleArgumentsPerToken = true };
        var alphas = new Option<double[]>("--alphas") { Description = "Eviction ratios α.", DefaultValueFactory = _ => [0.25, 0.5, 0.75, 0.9], AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads; small models run fastest on 1.", DefaultValueFactory = _ => 1 };
        var workers = new Option<int>("--workers") { Description = "Prompts measured in parallel (results do not depend on it).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (snake_case) on stdout instead of the table." };

        var command = new Command("eval-eviction", "Quality of KV-cache eviction policies vs the full cache: KL, greedy agreement, ROUGE-L per policy and α.");
        foreach (var option in new Option[] { model, weights, prompts, seed, output, policies, alphas, threads, workers, json }) command.Options.Add(option);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var folder = parseResult.GetValue(model)!;
            bool asJson = parseResult.GetValue(json);
            var options = new EvictionStudyOptions
            {
                Prompts = parseResult.GetValue(prompts),
                Seed = parseResult.GetValue(seed),
                Policies = parseResult.GetValue(policies) is { Length: > 0 } names ? names : EvictionPolicies.Names,
                Alphas = parseResult.GetValue(alphas) ?? [0.25, 0.5, 0.75, 0.9],
                Workers = parseResult.GetValue(workers),
            };
            var outFolder = parseResult.GetValue(output)!.FullName;
            var stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            try
            {
                using var lm = ModelOptions.Load(folder.FullName, parseResult.GetValue(weights));
                if (parseResult.GetValue(threads) is > 0 and var count) TorchSharp.torch.set_num_threads(count);
                var stopwatch = Stopwatch.StartNew();
                EvictionStudyReport? report = null;
                stderr.Progress().AutoClear(asJson).Start(context =>
                {
                    var task = context.AddTask("eval-eviction");
                    report = new EvictionQualityStudy(lm, options).Run((done, total, what) =>
                    {
                        task.MaxValue = total;
                        task.Value = done;
                        task.Description = Markup.Escape(what);
                    }, cancellationToken);
                });
                var paths = EvictionStudyWriter.WriteAll(report!, outFolder, lm.Name, options.Seed);
                if (asJson)
                {
                    var payload = new
                    {
                        Model = lm.Name,
                        Prompts = options.Prompts,
                        Seed = options.Seed,
                        PromptTokens = new { Min = report!.PromptLengths.Min(), Max = report.PromptLengths.Max(), Mean = report.PromptLengths.Average() },
                        Results = report.Summary,
                        Files = paths,
                        ElapsedS = stopwatch.Elapsed.TotalSeconds,
                    };
                    Console.Out.WriteLine(JsonSerializer.Serialize(payload, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
                }
                else
                {
                    Console.Out.WriteLine(EvictionStudyWriter.Markdown(report!, lm.Name, options.Seed));
                    foreach (string path in paths) Console.Out.WriteLine(path);
                }
                return Task.FromResult(0);
            }
            catch (Exception error) when (error is ArgumentException or IOException or InvalidOperationException or TimeBill.Core.Checkpoints.ModelLoadException)
            {
                stderr.MarkupLine($"[red]eval-eviction:[/] {Markup.Escape(error.Message)}");
                return Task.FromResult(1);
            }
        });
        return command;
    }
}
