using System.CommandLine;
using TimeBill.Cli.Output;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;
using TimeBill.Core.Tokenization;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill generate</c>: stream a response to a prompt.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = ModelOptions.ModelOrDefault();
        var prompt = new Option<string>("--prompt") { Description = "Prompt text.", Required = true };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Maximum new tokens.", DefaultValueFactory = _ => 256 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature; 0 = greedy.", DefaultValueFactory = _ => 0f };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling threshold.", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Keep only the k most likely tokens; 0 = off.", DefaultValueFactory = _ => 0 };
        var seed = new Option<int?>("--seed") { Description = "Sampler seed." };
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();

        var command = new Command("generate", "Generate a response to a prompt, streaming the text.")
        {
            model, prompt, maxTokens, temperature, topP, topK, seed, threads, json,
        };
        command.SetGuardedAction(async (parse, cancellationToken) =>
        {
            ModelOptions.SetThreads(parse.GetValue(threads));
            string folder = parse.GetValue(model)!;
            using var lm = CausalLanguageModel.Load(folder);
            var tokenizer = TextTokenizer.Load(folder, lm.GenerationConfig.BosTokenId);
            using var generator = new TextGenerator(lm, tokenizer);
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxTokens),
                Sampling = new SamplingOptions
                {
                    Temperature = parse.GetValue(temperature),
                    TopP = parse.GetValue(topP),
                    TopK = parse.GetValue(topK),
                    Seed = parse.GetValue(seed),
                },
            };
            options.Validate();
            string text = parse.GetValue(prompt)!;
            if (parse.GetValue(json))
            {
                var result = await generator.GenerateAsync(text, options, cancellationToken);
                JsonOutput.Write(new
                {
                    PromptIds = result.PromptIds,
                    Ids = result.Ids,
                    result.Text,
                    StopReason = result.StopReason,
                    PrefillMs = result.PrefillTime.TotalMilliseconds,
                    DecodeMs = result.DecodeTime.TotalMilliseconds,
                });
                return 0;
            }

            Console.Write(text);
            await foreach (var token in generator.StreamAsync(text, options, cancellationToken))
                Console.Write(token.Text);
            Console.WriteLine();
            return 0;
        });
        return command;
    }
}
