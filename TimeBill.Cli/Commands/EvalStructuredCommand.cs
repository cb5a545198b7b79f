using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using TimeBill.Cli.Evaluation;
using TimeBill.Cli.Output;
using TimeBill.Core.Budget;
using TimeBill.Core.Constraints;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;

namespace TimeBill.Cli.Commands;

/// <summary>
/// <c>timebill eval-structured</c>: JSON-Schema answers under Kill at budgets from generous to very tight, with
/// deadline-aware closing on and off: how many parse and validate, completion, length, overshoot, mask cost.
/// </summary>
internal static class EvalStructuredCommand
{
    /// <summary>The schema used without --schema: a robot command, shipped beside the program.</summary>
    public static string DefaultSchema => Path.Combine(AppContext.BaseDirectory, "schemas", "robot-command.json");

    public static Command Create()
    {
        var model = ModelOptions.Model();
        var shape = ModelOptions.Shape();
        var tokenizerFolder = new Option<string?>("--tokenizer")
        {
            Description = "With --shape: the model folder whose tokenizer the answers are constrained over (the shape's vocabulary is widened to it when smaller).",
        };
        var schema = new Option<string>("--schema") { Description = "JSON Schema of the answers (default: the bundled robot-command.json).", DefaultValueFactory = _ => DefaultSchema };
        var jobs = new Option<int>("--jobs") { Description = "Jobs per budget and closing setting.", DefaultValueFactory = _ => 200 };
        var budgets = new Option<string>("--budgets")
        {
            Description = "Comma-separated budgets as multiples of the median latency of the same job without a deadline.",
            DefaultValueFactory = _ => "2,1,0.6,0.4,0.25",
        };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Cap on generated tokens.", DefaultValueFactory = _ => 48 };
        var references = new Option<int>("--reference-jobs") { Description = "Jobs of the reference pass (no deadline) that set the budgets.", DefaultValueFactory = _ => 50 };
        var profile = new Option<string?>("--profile") { Description = "Execution-time profile (timebill profile --out); default: the cached quick profile of this machine, measured once." };
        var seed = new Option<int>("--seed") { Description = "Seed of the sampling and the bootstrap.", DefaultValueFactory = _ => 7005 };
        var output = new Option<string>("--out") { Description = "Results folder.", DefaultValueFactory = _ => "results/eval-structured" };
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();
        var command = new Command("eval-structured",
            "Structured-output evaluation: JSON-Schema answers under Kill at budgets from generous to very tight, deadline-aware closing on and off; share that parses and validates, completion, length, overshoot, mask cost.")
        {
            model, shape, tokenizerFolder, schema, jobs, budgets, maxTokens, references, profile, seed, output, threads, json,
        };
        command.SetGuardedAction(async (parse, cancellationToken) =>
        {
            int threadCount = parse.GetValue(threads);
            ModelOptions.SetThreads(threadCount);
            bool asJson = parse.GetValue(json);
            int jobCount = parse.GetValue(jobs), newTokens = parse.GetValue(maxTokens), referenceCount = parse.GetValue(references);
            if (jobCount < 1) throw new ArgumentException($"--jobs must be ≥ 1, not {jobCount}.");
            if (newTokens < 1) throw new ArgumentException($"--max-tokens must be ≥ 1, not {newTokens}.");
            if (referenceCount < 1) throw new ArgumentException($"--reference-jobs must be ≥ 1, not {referenceCount}.");
            var multiples = ParseMultiples(parse.GetValue(budgets)!);
            string schemaPath = parse.GetValue(schema)!;
            if (!File.Exists(schemaPath)) throw new ArgumentException($"--schema: {Path.GetFullPath(schemaPath)} does not exist.");
            string schemaJson = File.ReadAllText(schemaPath);
            try { OutputConstraint.JsonSchema(schemaJson); }
            catch (ArgumentException e) { throw new ArgumentException($"--schema {Path.GetFileName(schemaPath)}: {e.Message}", e); }
            var clock = Stopwatch.StartNew();

            var (lm, tokenizer) = Open(parse.GetValue(model), parse.GetValue(shape), parse.GetValue(tokenizerFolder));
            using var owned = lm;
            using var engine = new GenerationEngine(lm);
            var estimator = EvalLoopCommand.Profile(engine, parse.GetValue(profile), threadCount, cancellationToken).CreateRecalibratingEstimator();
            using var generator = new BudgetedGenerator(engine, tokenizer, estimator);
            var settings = new StructuredSettings
            {
                SchemaName = Path.GetFileName(schemaPath), SchemaJson = schemaJson, Jobs = jobCount, Multiples = multiples, MaxNewTokens = newTokens,
                ReferenceJobs = referenceCount, Seed = parse.GetValue(seed),
            };
            var report = ProgressDisplay.Run(json: true, "structured output", report =>
                new StructuredEvaluation(generator, settings, report).RunAsync(cancellationToken).GetAwaiter().GetResult());
            var files = StructuredEvaluationWriter.Write(report, parse.GetValue(output)!);
            if (asJson)
                JsonOutput.Write(new
                {
                    report.ModelIdentity, Settings = StructuredEvaluationWriter.Settings(report), report.ReferenceMedianMs, report.ReferenceLatenciesMs, report.Rows,
                    Files = files, Seconds = clock.Elapsed.TotalSeconds,
                });
            else
            {
                AnsiConsole.Console.WriteLine(StructuredEvaluationWriter.Markdown(report));
                AnsiConsole.MarkupLine($"[grey]wrote {string.Join(", ", files.Select(Markup.Escape))} in {clock.Elapsed.TotalSeconds:F0} s[/]");
            }
            return 0;
        });
        return command;
    }

    /// <summary>"2,1,0.5": positive multiples.</summary>
    internal static IReadOnlyList<double> ParseMultiples(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var values = new List<double>();
        foreach (string part in parts)
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value > 0) || double.IsInfinity(value))
                throw new ArgumentException($"--budgets takes comma-separated positive multiples of the reference latency (e.g. 2,1,0.5); '{part}' is not one.");
            values.Add(value);
        }
        if (values.Count == 0) throw new ArgumentException("--budgets is empty: give multiples such as 2,1,0.5.");
        return values;
    }

    /// <summary>The model folder and its tokenizer, or a shape with random weights and the tokenizer of --tokenizer.</summary>
    private static (CausalLanguageModel Model, TextTokenizer Tokenizer) Open(string? folder, string? shape, string? tokenizerFolder)
    {
        if (shape is null)
        {
            if (tokenizerFolder is not null) throw new ArgumentException("--tokenizer goes with --shape; a model folder brings its own tokenizer.");
            var lm = ModelOptions.Open(folder, null);
            return (lm, ModelOptions.LoadTokenizer(folder ?? ModelOptions.DefaultModelFolder));
        }
        if (folder is not null) throw new ArgumentException("give one of --model DIR or --shape CONFIG.json, not both.");
        if (tokenizerFolder is null) throw new ArgumentException("--shape has no tokenizer: give --tokenizer DIR (a model folder with tokenizer.json or tokenizer.model).");
        var tokenizer = ModelOptions.LoadTokenizer(tokenizerFolder);
        var config = ModelConfig.Load(shape);
        int ids = TokenVocabulary.For(tokenizer).Count;
        return (CausalLanguageModel.CreateRandom(config with { VocabSize = Math.Max(config.VocabSize, ids) }, 0), tokenizer);
    }
}
