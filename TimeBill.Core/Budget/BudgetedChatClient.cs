using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using TimeBill.Core.Generation;
using TimeBill.Core.Sampling;

namespace TimeBill.Core.Budget;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over an <see cref="IBudgetedGenerator"/>, so apps that speak
/// that interface get deadlines. The budget comes from <c>ChatOptions.AdditionalProperties["timebill.budget"]</c>
/// (<see cref="BudgetProperty"/>: a <see cref="TimeSpan"/> or a number of milliseconds), else
/// <see cref="DefaultBudget"/>; <c>"timebill.overrun"</c> takes <c>"kill"</c> or <c>"skip-next"</c>. MaxOutputTokens,
/// Temperature, TopP, TopK and Seed map to the request. The messages' texts are joined with newlines into the
/// prompt (the supported base models have no chat template). The response's AdditionalProperties carry
/// <c>timebill.status</c>, <c>timebill.alpha</c> and <c>timebill.predicted_length</c>.
/// </summary>
public sealed class BudgetedChatClient : IChatClient
{
    /// <summary>The ChatOptions.AdditionalProperties key of the time budget.</summary>
    public const string BudgetProperty = "timebill.budget";
    /// <summary>The ChatOptions.AdditionalProperties key of the overrun strategy.</summary>
    public const string OverrunProperty = "timebill.overrun";

    private readonly IBudgetedGenerator _generator;

    /// <summary>Adapts <paramref name="generator"/>; requests without a budget get <paramref name="defaultBudget"/>.</summary>
    public BudgetedChatClient(IBudgetedGenerator generator, TimeSpan defaultBudget)
    {
        _generator = generator ?? throw new ArgumentNullException(nameof(generator));
        if (defaultBudget <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(defaultBudget), defaultBudget, "the default budget must be positive.");
        DefaultBudget = defaultBudget;
    }

    /// <summary>The budget of requests that do not name one.</summary>
    public TimeSpan DefaultBudget { get; }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var result = await _generator.GenerateAsync(ToRequest(messages, options), cancellationToken);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, result.Text))
        {
            FinishReason = FinishReason(result),
            Usage = new UsageDetails { InputTokenCount = result.PromptIds.Count, OutputTokenCount = result.Ids.Count },
            AdditionalProperties = Properties(result),
        };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var item in _generator.StreamAsync(ToRequest(messages, options), cancellationToken))
        {
            if (item.Result is { } result)
                yield return new ChatResponseUpdate(ChatRole.Assistant, "") { FinishReason = FinishReason(result), AdditionalProperties = Properties(result) };
            else if (item.Token.Text.Length > 0)
                yield return new ChatResponseUpdate(ChatRole.Assistant, item.Token.Text);
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(_generator) ? _generator
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    /// <inheritdoc />
    public void Dispose() { }

    internal BudgetedRequest ToRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        string prompt = string.Join("\n", messages.Select(m => m.Text).Where(t => !string.IsNullOrEmpty(t)));
        var properties = options?.AdditionalProperties;
        var budget = properties?.TryGetValue(BudgetProperty, out object? value) == true ? ParseBudget(value) : DefaultBudget;
        var overrun = properties?.TryGetValue(OverrunProperty, out object? o) == true ? ParseOverrun(o) : OverrunStrategy.Kill;
        return new BudgetedRequest
        {
            Prompt = prompt,
            Budget = budget,
            Overrun = overrun,
            MaxNewTokens = options?.MaxOutputTokens ?? 256,
            Sampling = new SamplingOptions
            {
                Temperature = options?.Temperature ?? 0f,
                TopP = options?.TopP ?? 1f,
                TopK = options?.TopK ?? 0,
                Seed = options?.Seed is long seed ? (int)seed : null,
            },
        };
    }

    private static TimeSpan ParseBudget(object? value) => value switch
    {
        TimeSpan span => span,
        double ms => TimeSpan.FromMilliseconds(ms),
        int ms => TimeSpan.FromMilliseconds(ms),
        long ms => TimeSpan.FromMilliseconds(ms),
        System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Number } e => TimeSpan.FromMilliseconds(e.GetDouble()),
        _ => throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{BudgetProperty}\"] must be a TimeSpan or milliseconds, got {value ?? "null"}."),
    };

    private static OverrunStrategy ParseOverrun(object? value) => value switch
    {
        OverrunStrategy s => s,
        string s when s.Equals("kill", StringComparison.OrdinalIgnoreCase) => OverrunStrategy.Kill,
        string s when s.Replace("-", "").Equals("skipnext", StringComparison.OrdinalIgnoreCase) => OverrunStrategy.SkipNext,
        _ => throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{OverrunProperty}\"] must be \"kill\" or \"skip-next\", got {value ?? "null"}."),
    };

    private static ChatFinishReason? FinishReason(BudgetedResult result) => result.StopReason switch
    {
        StopReason.StopToken => ChatFinishReason.Stop,
        StopReason.MaxTokens or StopReason.ContextFull => ChatFinishReason.Length,
        _ => null,
    };

    private static AdditionalPropertiesDictionary Properties(BudgetedResult result) => new()
    {
        ["timebill.status"] = result.Status.ToString(),
        ["timebill.alpha"] = result.Plan?.EvictionRatio,
        ["timebill.predicted_length"] = result.Plan?.PredictedLength,
    };
}
