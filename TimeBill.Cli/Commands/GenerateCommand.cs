using System.CommandLine;
using TimeBill.Cli.Output;
using TimeBill.Core.Budget;
using TimeBill.Core.ChatTemplates;
using TimeBill.Core.Constraints;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;
using TimeBill.Core.Tokenization;
using TimeBill.Predictors.Budget;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill generate</c>: stream a response to a prompt, optionally within a time budget.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = ModelOptions.ModelOrDefault();
        var prompt = new Option<string>("--prompt") { Description = "Prompt text (with --chat: the user's message).", Required = true };
        var chat = new Option<bool>("--chat") { Description = "Send the prompt as a user message through the model's chat template; print only the reply." };
        var system = new Option<string?>("--system") { Description = "With --chat: a system message before the user's." };
        var variables = new Option<string[]>("--var") { Description = "With --chat: a template variable NAME=JSON (repeatable), e.g. enable_thinking=false." };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Maximum new tokens.", DefaultValueFactory = _ => 256 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature; 0 = greedy.", DefaultValueFactory = _ => 0f };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling threshold.", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Keep only the k most likely tokens; 0 = off.", DefaultValueFactory = _ => 0 };
        var minP = new Option<float>("--min-p") { Description = "Keep only tokens at least this fraction as likely as the likeliest; 0 = off." };
        var logitBias = new Option<string[]>("--logit-bias") { Description = "ID=BIAS added to a token's logit (-inf bans it); repeatable." };
        var seed = new Option<long?>("--seed") { Description = "Sampler seed." };
        var frequency = new Option<float>("--frequency-penalty") { Description = "Subtracted per earlier occurrence of a token in the response." };
        var presence = new Option<float>("--presence-penalty") { Description = "Subtracted once for a token already in the response." };
        var repetition = new Option<float>("--repetition-penalty") { Description = "Divides (multiplies) positive (negative) logits of seen tokens; 1 = off.", DefaultValueFactory = _ => 1f };
        var stop = new Option<string[]>("--stop") { Description = "A text that ends the response (not printed); repeatable.", AllowMultipleArgumentsPerToken = false };
        var budget = new Option<string?>("--budget")
        {
            Description = "Answer within this time (300ms, 1.5s, or milliseconds): a budgeted generator plans eviction to fit; "
                + "the first run on a machine measures a short profile and caches it.",
        };
        var overrun = new Option<string>("--overrun") { Description = "With --budget: kill (stop at the deadline) or skip-next.", DefaultValueFactory = _ => "kill" };
        var schema = new Option<FileInfo?>("--json-schema")
        {
            Description = "Constrain the answer to values of this JSON Schema (compact JSON); printed alone, without the prompt.",
        };
        var choices = new Option<string?>("--choices") { Description = "Constrain the answer to one of these comma-separated strings; printed alone." };
        var weights = ModelOptions.Weights();
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();

        var command = new Command("generate", "Generate a response to a prompt, streaming the text.")
        {
            model, weights, prompt, chat, system, variables, maxTokens, temperature, topP, topK, minP, logitBias, seed, frequency, presence, repetition, stop, budget, overrun, schema, choices, threads, json,
        };
        command.SetGuardedAction(async (parse, cancellationToken) =>
        {
            ModelOptions.SetThreads(parse.GetValue(threads));
            string folder = parse.GetValue(model)!;
            var sampling = new SamplingOptions
            {
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP),
                TopK = parse.GetValue(topK),
                MinP = parse.GetValue(minP),
                LogitBias = ParseLogitBias(parse.GetValue(logitBias) ?? []),
                Seed = parse.GetValue(seed),
                FrequencyPenalty = parse.GetValue(frequency),
                PresencePenalty = parse.GetValue(presence),
                RepetitionPenalty = parse.GetValue(repetition),
            };
            sampling.Validate();
            string[] stops = parse.GetValue(stop) ?? [];
            var input = new PromptInput(parse.GetValue(prompt)!, parse.GetValue(chat), parse.GetValue(system),
                TemplateVariables.Parse(parse.GetValue(variables) ?? [], "--var"));
            bool asJson = parse.GetValue(json);
            var constraint = ConstraintOf(parse.GetValue(schema), parse.GetValue(choices));
            if (parse.GetValue(budget) is string budgetText)
                return await Budgeted(folder, input, BudgetText.ParseBudget(budgetText), BudgetText.ParseOverrun(parse.GetValue(overrun)!), parse.GetValue(maxTokens), sampling, stops,
                    constraint, parse.GetValue(threads), asJson, cancellationToken);

            using var lm = ModelOptions.Load(folder, parse.GetValue(weights));
            var tokenizer = TextTokenizer.Load(folder, lm.GenerationConfig.BosTokenId);
            using var generator = new TextGenerator(lm, tokenizer);
            var constrained = constraint is null ? null
                : new ConstrainedDecoding(constraint.For(tokenizer), generator.Engine.DefaultStopTokenIds(tokenizer), parse.GetValue(maxTokens));
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxTokens), Sampling = sampling, StopSequences = stops, LogitsProcessors = constrained is null ? null : [constrained],
            };
            options.Validate();
            int[] promptIds = input.Encode(tokenizer, out string promptText);
            if (constrained is not null)
            {
                var result = await generator.GenerateAsync(promptIds, options, cancellationToken);
                constrained.Follow(result.Ids);
                bool closedEarly = constrained.Closed && constrained.IsComplete;
                if (asJson) JsonOutput.Write(new { result.Text, ClosedEarly = closedEarly });
                else
                {
                    Console.WriteLine(result.Text);
                    if (closedEarly) Console.Error.WriteLine("closed early: the token cap left only the tokens the answer needed");
                }
                return 0;
            }
            if (asJson)
            {
                var result = await generator.GenerateAsync(promptIds, options, cancellationToken);
                JsonOutput.Write(new
                {
                    Prompt = promptText,
                    PromptIds = result.PromptIds,
                    Ids = result.Ids,
                    result.Text,
                    StopReason = result.StopReason,
                    PrefillMs = result.PrefillTime.TotalMilliseconds,
                    DecodeMs = result.DecodeTime.TotalMilliseconds,
                });
                return 0;
            }

            if (!input.Chat) Console.Write(promptText);
            await foreach (var token in generator.StreamAsync(promptIds, options, cancellationToken))
                Console.Write(token.Text);
            Console.WriteLine();
            return 0;
        });
        return command;
    }

    /// <summary>The constraint of --json-schema or --choices (not both); null for free text.</summary>
    /// <exception cref="ArgumentException">Both given, no such file, a bad schema, or no choices.</exception>
    private static OutputConstraint? ConstraintOf(FileInfo? schema, string? choices)
    {
        if (schema is not null && choices is not null) throw new ArgumentException("give --json-schema or --choices, not both.");
        if (schema is not null)
        {
            if (!schema.Exists) throw new ArgumentException($"--json-schema: {schema.FullName} does not exist.");
            try { return OutputConstraint.JsonSchema(File.ReadAllText(schema.FullName)); }
            catch (ArgumentException e) { throw new ArgumentException($"--json-schema {schema.Name}: {e.Message}", e); }
        }
        if (choices is null) return null;
        var list = choices.Split(',');
        if (list.Any(string.IsNullOrEmpty)) throw new ArgumentException("--choices: give comma-separated, non-empty strings (a,b,c).");
        return OutputConstraint.OneOf(list);
    }

    private static async Task<int> Budgeted(string folder, PromptInput input, TimeSpan budget, OverrunStrategy overrun, int maxTokens, SamplingOptions sampling,
        string[] stops, OutputConstraint? constraint, int threads, bool asJson, CancellationToken cancellationToken)
    {
        var progress = ProfilingNotice.ToStandardError();
        using var generator = new BudgetedGeneratorBuilder(folder).WithThreads(threads).WithProgress(progress)
            .WithWarnings(warning => Console.Error.WriteLine($"warning: {warning}")).Build(cancellationToken);
        int[] promptIds = input.Encode(generator.Tokenizer!, out string promptText);
        constraint?.For(generator.Tokenizer!); // lifted to the vocabulary before the clock starts
        var request = new BudgetedRequest
        {
            PromptIds = promptIds, Budget = budget, Overrun = overrun, MaxNewTokens = maxTokens, Sampling = sampling, StopSequences = stops,
            Constraint = constraint,
        };
        BudgetedResult? result = null;
        if (!asJson && !input.Chat && constraint is null) Console.Write(promptText);
        await foreach (var item in generator.StreamAsync(request, cancellationToken))
        {
            if (item.Result is { } done) result = done;
            else if (!asJson) Console.Write(item.Token.Text);
        }
        if (!asJson)
        {
            Console.WriteLine();
            Console.Error.WriteLine($"{result!.Status}: {result.TotalTime.TotalMilliseconds:F1} of {budget.TotalMilliseconds:F0} ms, α = {result.Plan?.EvictionRatio ?? 0:F2}"
                + (result.ClosedEarly ? ", closed early" : ""));
            return 0;
        }
        if (constraint is not null)
        {
            JsonOutput.Write(new { result!.Text, result.ClosedEarly });
            return 0;
        }
        JsonOutput.Write(new
        {
            Prompt = promptText,
            PromptIds = result!.PromptIds,
            Ids = result.Ids,
            result.Text,
            StopReason = result.StopReason,
            Status = result.Status.ToString(),
            BudgetMs = budget.TotalMilliseconds,
            Plan = result.Plan,
            PrefillMs = result.PrefillTime.TotalMilliseconds,
            PredictedPrefillMs = result.PredictedPrefillTime.TotalMilliseconds,
            DecodeMs = result.DecodeTime.TotalMilliseconds,
            PredictedDecodeMs = result.PredictedDecodeTime.TotalMilliseconds,
            EvictionMs = result.EvictionTime.TotalMilliseconds,
            TimeToFirstTokenMs = result.TimeToFirstToken.TotalMilliseconds,
            TotalMs = result.TotalTime.TotalMilliseconds,
        });
        return 0;
    }

    /// <summary>The prompt as given: plain text (BOS prepended when the model has one) or a user message for the chat template.</summary>
    private sealed class PromptInput
    {
        /// <exception cref="ArgumentException">--system or --var without --chat (refused before any model loads).</exception>
        public PromptInput(string text, bool chat, string? system, Dictionary<string, object?> variables)
        {
            if (!chat && (system is not null || variables.Count > 0)) throw new ArgumentException("--system and --var apply to --chat only.");
            (Text, Chat, System, Variables) = (text, chat, system, variables);
        }

        public string Text { get; }
        public bool Chat { get; }
        public string? System { get; }
        public Dictionary<string, object?> Variables { get; }

        public int[] Encode(TextTokenizer tokenizer, out string rendered)
        {
            if (!Chat)
            {
                rendered = Text;
                return tokenizer.EncodePrompt(Text);
            }
            var template = tokenizer.ChatTemplate
                ?? throw new ArgumentException("--chat: this model has no chat template (tokenizer_config.json 'chat_template' or chat_template.jinja); drop --chat.");
            List<ChatTemplateMessage> messages = System is null ? [] : [new("system", System)];
            messages.Add(new("user", Text));
            var prompt = template.RenderAndEncode(tokenizer, messages, new ChatTemplateOptions { AddGenerationPrompt = true, Variables = Variables });
            rendered = prompt.Text;
            return prompt.Ids;
        }
    }

    /// <summary><c>ID=BIAS</c> pairs; <c>-inf</c> bans a token.</summary>
    private static Dictionary<int, float>? ParseLogitBias(string[] pairs)
    {
        if (pairs.Length == 0) return null;
        var bias = new Dictionary<int, float>();
        foreach (string pair in pairs)
        {
            string[] parts = pair.Split('=', 2);
            if (parts.Length != 2 || !int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out int id)
                || !float.TryParse(parts[1].Replace("inf", "Infinity", StringComparison.OrdinalIgnoreCase), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float value))
                throw new ArgumentException($"--logit-bias takes ID=BIAS, such as 42=-2.5 or 42=-inf; got '{pair}'.");
            bias[id] = value;
        }
        return bias;
    }
}
