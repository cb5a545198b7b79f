using System.CommandLine;
using System.Diagnostics;
using TimeBill.Cli.Output;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;
using TimeBill.Predictors.ResponseLength;

namespace TimeBill.Cli.Commands;

/// <summary>
/// <c>timebill distill</c>: runs the target model at its deployment sampling settings and records response lengths
/// (the RLP's labels), then re-samples some test prompts to measure the irreducible error.
/// </summary>
internal static class DistillCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder of the target model.", Required = true };
        var output = new Option<string>("--out") { Description = "Dataset file (JSONL, resumable).", DefaultValueFactory = _ => "results/rlp/dataset.jsonl" };
        var prompts = new Option<int>("--prompts") { Description = "Prompts to record in total.", DefaultValueFactory = _ => 4000 };
        var promptFile = new Option<string?>("--prompt-file") { Description = "Text file, one prompt per line; default: prompts cut from stories the model samples itself." };
        var seed = new Option<int>("--seed") { Description = "Base seed (story i uses a seed derived from it).", DefaultValueFactory = _ => 1 };
        var temperature = new Option<float>("--temperature") { Description = "Deployment temperature.", DefaultValueFactory = _ => 1f };
        var topP = new Option<float>("--top-p") { Description = "Deployment top-p.", DefaultValueFactory = _ => 0.9f };
        var perStory = new Option<int>("--prefixes-per-story") { Description = "Prompts cut from each sampled story.", DefaultValueFactory = _ => 5 };
        var minPrefix = new Option<int>("--min-prefix") { Description = "Shortest prompt, BOS included.", DefaultValueFactory = _ => 2 };
        var maxPrefix = new Option<int>("--max-prefix") { Description = "Longest prompt, BOS included.", DefaultValueFactory = _ => 400 };
        var workers = new Option<int>("--workers") { Description = "Parallel workers, each with its own model copy and 1 libtorch thread.", DefaultValueFactory = _ => 2 };
        var resamplePrompts = new Option<int>("--resample-prompts") { Description = "Test prompts re-sampled for the irreducible error (0 = skip).", DefaultValueFactory = _ => 200 };
        var resampleSamples = new Option<int>("--resample-samples") { Description = "Fresh samples per re-sampled prompt.", DefaultValueFactory = _ => 8 };
        var weights = ModelOptions.Weights();
        var json = ModelOptions.Json();
        var command = new Command("distill", "Record the target model's response lengths at its deployment settings (RLP training data).")
        {
            model, weights, output, prompts, promptFile, seed, temperature, topP, perStory, minPrefix, maxPrefix, workers, resamplePrompts, resampleSamples, json,
        };
        command.SetGuardedAction((parse, cancellationToken) =>
        {
            string folder = parse.GetValue(model)!;
            var loadOptions = ModelOptions.LoadOptions(parse.GetValue(weights));
            string path = parse.GetValue(output)!;
            bool asJson = parse.GetValue(json);
            int target = parse.GetValue(prompts);
            if (target <= 0) throw new ArgumentException($"--prompts must be positive, got {target}.");
            int workerCount = parse.GetValue(workers);
            if (workerCount <= 0) throw new ArgumentException($"--workers must be positive, got {workerCount}.");
            ModelOptions.SetThreads(1);

            string identity;
            int bos;
            int context;
            using (var probe = CausalLanguageModel.Load(folder, loadOptions))
            {
                identity = probe.Identity;
                bos = probe.GenerationConfig.BosTokenId ?? 1;
                context = probe.Config.MaxPositions;
            }
            List<int[]>? promptIds = null;
            if (parse.GetValue(promptFile) is string file)
            {
                if (!File.Exists(file)) throw new FileNotFoundException($"prompt file not found: {file}", file);
                var tokenizer = TextTokenizer.Load(folder, bos);
                promptIds = File.ReadLines(file).Where(l => l.Trim().Length > 0).Select(l => tokenizer.EncodePrompt(l.Trim())).ToList();
                if (promptIds.Count == 0) throw new ArgumentException($"{file} holds no prompts.");
            }
            var settings = new DistillationSettings
            {
                ModelIdentity = identity,
                Seed = parse.GetValue(seed),
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP),
                MaxTotalTokens = context,
                PrefixesPerStory = promptIds is null ? parse.GetValue(perStory) : 1,
                MinPrefix = parse.GetValue(minPrefix),
                MaxPrefix = Math.Min(parse.GetValue(maxPrefix), context - 1),
            };

            var builder = new DistillationBuilder(() => CausalLanguageModel.Load(folder, loadOptions));
            var clock = Stopwatch.StartNew();
            int resumedStories;
            long generated = 0;
            List<DistilledStory> stories;
            if (File.Exists(path) && DistillationDatasetFile.Read(path) is var (existingSettings, existingStories)
                && existingSettings == settings && existingStories.Sum(s => s.Prefixes.Length) >= target)
            {
                // Enough prompts already: read only, so a re-sampling run can follow a build that is still appending.
                stories = existingStories;
                resumedStories = stories.Count;
            }
            else
            {
                using var dataset = DistillationDatasetFile.OpenForAppend(path, settings);
                resumedStories = dataset.Stories.Count;
                ProgressDisplay.Run(asJson, "distill", report =>
                {
                    builder.Build(dataset, target, promptIds, workerCount, p =>
                    {
                        generated = p.GeneratedTokens;
                        report(p.Prompts, p.TargetPrompts, $"distill: {p.Stories} stories, {p.Prompts}/{p.TargetPrompts} prompts");
                    }, cancellationToken);
                    return 0;
                });
                stories = dataset.Stories;
            }
            double distillSeconds = clock.Elapsed.TotalSeconds;
            var records = stories.SelectMany(s => s.Records()).ToList();

            var splitter = new StorySplitter();
            string resamplePath = Path.ChangeExtension(path, ".resample.jsonl");
            int nResample = parse.GetValue(resamplePrompts);
            double resampleSeconds = 0;
            List<ResampledPrompt> resampled = [];
            if (nResample > 0)
            {
                clock.Restart();
                var chosen = LengthResampler.ChooseTestPrompts(splitter.Select(records, DatasetSplit.Test), nResample, settings.Seed);
                resampled = ProgressDisplay.Run(asJson, "re-sample test prompts", report =>
                    LengthResampler.Run(() => CausalLanguageModel.Load(folder, loadOptions), settings, chosen, parse.GetValue(resampleSamples), resamplePath,
                        workerCount, (done, total) => report(done, total, $"re-sample: {done}/{total} prompts × {parse.GetValue(resampleSamples)}"), cancellationToken));
                resampleSeconds = clock.Elapsed.TotalSeconds;
            }

            var summary = new
            {
                Model = identity,
                Dataset = Path.GetFullPath(path),
                Stories = stories.Count,
                ResumedStories = resumedStories,
                Prompts = records.Count,
                Train = splitter.Select(records, DatasetSplit.Train).Count,
                Validation = splitter.Select(records, DatasetSplit.Validation).Count,
                Test = splitter.Select(records, DatasetSplit.Test).Count,
                HitLengthCapShare = records.Count == 0 ? 0 : records.Count(r => r.HitLengthCap) / (double)records.Count,
                MeanResponseLength = records.Count == 0 ? 0 : records.Average(r => r.ResponseLength),
                MeanStoryLength = stories.Count == 0 ? 0 : stories.Average(s => s.Ids.Length - 1.0),
                GeneratedTokens = generated,
                Workers = workerCount,
                DistillSeconds = distillSeconds,
                ResampleFile = nResample > 0 ? Path.GetFullPath(resamplePath) : null,
                ResampledPrompts = resampled.Count,
                ResampleSeconds = resampleSeconds,
            };
            if (asJson) JsonOutput.Write(summary);
            else
            {
                Console.WriteLine($"{summary.Stories} stories ({summary.ResumedStories} resumed), {summary.Prompts} prompts: train {summary.Train}, validation {summary.Validation}, test {summary.Test}");
                Console.WriteLine($"mean response {summary.MeanResponseLength:F1} tokens, mean story {summary.MeanStoryLength:F1}, {summary.HitLengthCapShare:P1} hit the context cap");
                Console.WriteLine($"distill {distillSeconds:F1} s ({generated} tokens sampled, {workerCount} workers); re-sample {resampled.Count} prompts in {resampleSeconds:F1} s");
                Console.WriteLine($"dataset: {summary.Dataset}");
            }
            return Task.FromResult(0);
        });
        return command;
    }
}
