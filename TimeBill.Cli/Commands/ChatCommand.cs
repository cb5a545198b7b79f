using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using TimeBill.Cli.Output;
using TimeBill.Core.Budget;
using TimeBill.Predictors.Budget;
using TimeBill.Predictors.Chat;

namespace TimeBill.Cli.Commands;

/// <summary>
/// <c>timebill chat</c>: a conversation at the terminal through the model's chat template, each answer streamed and
/// planned within the budget in force. Lines starting with <c>/</c> change settings (see <see cref="Help"/>).
/// </summary>
internal static class ChatCommand
{
    private const string Help = """
        /budget 300ms | 1.5s | off    time budget of the next answers (off: no deadline)
        /overrun kill | skip-next     what happens when a deadline cannot be met
        /max-tokens N                 cap on the tokens of an answer
        /temperature T                sampling temperature (0: greedy)
        /var NAME=JSON                a chat-template variable, e.g. /var enable_thinking=false
        /system TEXT                  replace the system message (empty: none) and start over
        /reset                        forget the conversation
        /help                         this list
        /exit                         leave (end of input does too)
        """;

    public static Command Create()
    {
        var model = ModelOptions.ModelOrDefault();
        var system = new Option<string?>("--system") { Description = "A system message before the conversation." };
        var budget = new Option<string?>("--budget") { Description = "Time budget of each answer (300ms, 1.5s); default: none." };
        var overrun = new Option<string>("--overrun") { Description = "kill (stop at the deadline) or skip-next.", DefaultValueFactory = _ => "kill" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Maximum tokens per answer.", DefaultValueFactory = _ => 256 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature; 0 = greedy.", DefaultValueFactory = _ => 0f };
        var seed = new Option<long?>("--seed") { Description = "Sampler seed." };
        var variables = new Option<string[]>("--var") { Description = "A chat-template variable NAME=JSON (repeatable), e.g. enable_thinking=false." };
        var weights = ModelOptions.Weights();
        var threads = ModelOptions.Threads();
        var command = new Command("chat", "Talk with a model at the terminal: its chat template, streamed answers, a budget per answer.")
        {
            model, weights, system, budget, overrun, maxTokens, temperature, seed, variables, threads,
        };
        command.SetGuardedAction(async (parse, cancellationToken) =>
        {
            ModelOptions.SetThreads(parse.GetValue(threads));
            var settings = new Settings
            {
                System = parse.GetValue(system),
                Budget = parse.GetValue(budget) is string b ? BudgetText.ParseBudget(b) : null,
                Overrun = BudgetText.ParseOverrun(parse.GetValue(overrun)!),
                MaxTokens = Positive(parse.GetValue(maxTokens), "--max-tokens"),
                Temperature = parse.GetValue(temperature),
                Seed = parse.GetValue(seed),
            };
            foreach (string assignment in parse.GetValue(variables) ?? []) settings.SetVariable(assignment, "--var");
            return await Converse(parse.GetValue(model)!, settings, Console.In, Console.Out, Console.Error, cancellationToken, parse.GetValue(weights));
        });
        return command;
    }

    private sealed class Settings
    {
        public string? System { get; set; }
        public TimeSpan? Budget { get; set; }
        public OverrunStrategy Overrun { get; set; }
        public int MaxTokens { get; set; }
        public float Temperature { get; set; }
        public long? Seed { get; set; }
        public Dictionary<string, JsonNode?> Variables { get; } = [];

        public void SetVariable(string assignment, string source) => TemplateVariables.Parse([assignment], Variables, source);

        public ChatOptions ToOptions()
        {
            var options = new ChatOptions { MaxOutputTokens = MaxTokens, Temperature = Temperature, Seed = Seed }
                .WithTimeBudget(Budget ?? BudgetText.MaxBudget).WithOverrun(Overrun);
            foreach (var (name, value) in Variables) options.WithTemplateVariable(name, value);
            return options;
        }
    }

    private static async Task<int> Converse(string folder, Settings settings, TextReader input, TextWriter output, TextWriter errors, CancellationToken cancellationToken, string? weights = null)
    {
        var progress = ProfilingNotice.ToStandardError();
        using var generator = new BudgetedGeneratorBuilder(folder).WithLoadOptions(ModelOptions.LoadOptions(weights)).WithProgress(progress)
            .WithWarnings(warning => errors.WriteLine($"warning: {warning}")).Build(cancellationToken);
        using var client = new TimeBillChatClient(generator);
        var history = new List<ChatMessage>();
        errors.WriteLine($"chatting with {client.ModelId}; /help lists the settings, /exit leaves.");
        while (!cancellationToken.IsCancellationRequested)
        {
            output.Write("> ");
            output.Flush();
            string? line = await input.ReadLineAsync(cancellationToken);
            if (line is null) break;
            if (line.Trim().Length == 0) continue;
            if (line.StartsWith('/'))
            {
                try
                {
                    if (!Apply(line.Trim(), settings, history, output)) break;
                }
                catch (ArgumentException e) { errors.WriteLine($"error: {e.Message}"); }
                continue;
            }
            var turn = new List<ChatMessage>(history) { new(ChatRole.User, line) };
            if (settings.System is { Length: > 0 } text) turn.Insert(0, new ChatMessage(ChatRole.System, text));
            var answer = new StringBuilder();
            ChatResponseUpdate? last = null;
            await foreach (var update in client.GetStreamingResponseAsync(turn, settings.ToOptions(), cancellationToken))
            {
                output.Write(update.Text);
                answer.Append(update.Text);
                last = update;
            }
            output.WriteLine();
            history.Add(new ChatMessage(ChatRole.User, line));
            history.Add(new ChatMessage(ChatRole.Assistant, answer.ToString()));
            errors.WriteLine(Summary(last, settings.Budget));
        }
        return 0;
    }

    /// <summary>Applies a <c>/setting</c> line; false for <c>/exit</c>.</summary>
    private static bool Apply(string line, Settings settings, List<ChatMessage> history, TextWriter output)
    {
        int space = line.IndexOf(' ');
        string name = (space < 0 ? line : line[..space]).ToLowerInvariant(), argument = space < 0 ? "" : line[(space + 1)..].Trim();
        switch (name)
        {
            case "/exit" or "/quit": return false;
            case "/help": output.WriteLine(Help); break;
            case "/reset": history.Clear(); output.WriteLine("(conversation cleared)"); break;
            case "/system": settings.System = argument; history.Clear(); output.WriteLine("(system message set; conversation cleared)"); break;
            case "/budget": settings.Budget = argument.Equals("off", StringComparison.OrdinalIgnoreCase) ? null : BudgetText.ParseBudget(argument); break;
            case "/overrun": settings.Overrun = BudgetText.ParseOverrun(argument); break;
            case "/max-tokens":
                settings.MaxTokens = int.TryParse(argument, CultureInfo.InvariantCulture, out int cap) ? Positive(cap, "/max-tokens") : throw new ArgumentException($"/max-tokens takes a positive number; got '{argument}'.");
                break;
            case "/temperature":
                settings.Temperature = float.TryParse(argument, CultureInfo.InvariantCulture, out float t) && t >= 0 && float.IsFinite(t) ? t : throw new ArgumentException($"/temperature takes a number ≥ 0; got '{argument}'.");
                break;
            case "/var": settings.SetVariable(argument, "/var"); break;
            default: throw new ArgumentException($"unknown setting '{name}'; /help lists them.");
        }
        return true;
    }

    private static string Summary(ChatResponseUpdate? last, TimeSpan? budget)
    {
        var properties = last?.AdditionalProperties;
        string status = properties?.TryGetValue(TimeBillChatClient.StatusKey, out object? s) == true ? $"{s}" : "?";
        double total = properties?.TryGetValue(TimeBillChatClient.TotalMillisecondsKey, out object? ms) == true ? Convert.ToDouble(ms, CultureInfo.InvariantCulture) : double.NaN;
        string alpha = properties?.TryGetValue(TimeBillChatClient.AlphaKey, out object? a) == true ? $", α {Convert.ToDouble(a, CultureInfo.InvariantCulture):F2}" : "";
        string of = budget is { } b ? $" of {b.TotalMilliseconds:F0} ms" : " ms";
        return FormattableString.Invariant($"[{status}: {total:F0}{of}{alpha}, finish {last?.FinishReason?.Value ?? "?"}]");
    }

    private static int Positive(int value, string name) =>
        value > 0 ? value : throw new ArgumentException($"{name} must be positive; got {value}.");
}
