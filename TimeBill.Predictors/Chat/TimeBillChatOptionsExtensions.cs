using System.Text.Json;
using Microsoft.Extensions.AI;
using TimeBill.Core.Budget;

namespace TimeBill.Predictors.Chat;

/// <summary>
/// The time budget and overrun strategy of one chat request, kept in <see cref="ChatOptions.AdditionalProperties"/>
/// under <see cref="TimeBudgetKey"/> (a <see cref="TimeSpan"/>) and <see cref="OverrunKey"/> (an
/// <see cref="OverrunStrategy"/>), so they pass through any <see cref="IChatClient"/> middleware:
/// <code>var options = new ChatOptions { MaxOutputTokens = 64 }.WithTimeBudget(TimeSpan.FromMilliseconds(500)).WithOverrun(OverrunStrategy.Kill);</code>
/// Options read back from JSON carry a <see cref="JsonElement"/> instead: a budget then is a string in TimeSpan's
/// invariant format ("00:00:00.5000000"), an overrun the strategy's name ("Kill", "SkipNext").
/// </summary>
public static class TimeBillChatOptionsExtensions
{
    /// <summary>The AdditionalProperties key of the time budget.</summary>
    public const string TimeBudgetKey = "timebill.budget";

    /// <summary>The AdditionalProperties key of the overrun strategy.</summary>
    public const string OverrunKey = "timebill.overrun";

    /// <summary>The AdditionalProperties key of min-p (<see cref="TimeBill.Core.Sampling.SamplingOptions.MinP"/>), which ChatOptions lacks.</summary>
    public const string MinPKey = "timebill.min_p";

    /// <summary>The AdditionalProperties key of the multiplicative repetition penalty, which ChatOptions lacks.</summary>
    public const string RepetitionPenaltyKey = "timebill.repetition_penalty";

    /// <summary>The AdditionalProperties key of the logit bias (token id → amount added; −∞ bans), which ChatOptions lacks.</summary>
    public const string LogitBiasKey = "timebill.logit_bias";

    /// <summary>Sets min-p: only tokens at least this fraction as likely as the likeliest are sampled. Returns <paramref name="options"/>.</summary>
    public static ChatOptions WithMinP(this ChatOptions options, float minP) => Set(options, MinPKey, minP);

    /// <summary>Sets the multiplicative repetition penalty over prompt and answer (1: off). Returns <paramref name="options"/>.</summary>
    public static ChatOptions WithRepetitionPenalty(this ChatOptions options, float penalty) => Set(options, RepetitionPenaltyKey, penalty);

    /// <summary>Sets amounts added to chosen tokens' logits (−∞ bans a token). Returns <paramref name="options"/>.</summary>
    public static ChatOptions WithLogitBias(this ChatOptions options, IReadOnlyDictionary<int, float> bias) =>
        Set(options, LogitBiasKey, new Dictionary<int, float>(bias ?? throw new ArgumentNullException(nameof(bias))));

    /// <summary>The request's min-p, or null.</summary>
    /// <exception cref="ArgumentException">The stored value is not a number.</exception>
    public static float? GetMinP(this ChatOptions? options) => Number(options, MinPKey, nameof(WithMinP));

    /// <summary>The request's repetition penalty, or null.</summary>
    /// <exception cref="ArgumentException">The stored value is not a number.</exception>
    public static float? GetRepetitionPenalty(this ChatOptions? options) => Number(options, RepetitionPenaltyKey, nameof(WithRepetitionPenalty));

    /// <summary>The request's logit bias, or null: a dictionary, or JSON read back (an object of id strings to numbers).</summary>
    /// <exception cref="ArgumentException">The stored value is not a map of token ids to numbers.</exception>
    public static IReadOnlyDictionary<int, float>? GetLogitBias(this ChatOptions? options)
    {
        if (options?.AdditionalProperties is not { } properties || !properties.TryGetValue(LogitBiasKey, out object? value)) return null;
        switch (value)
        {
            case IReadOnlyDictionary<int, float> bias: return bias;
            case JsonElement { ValueKind: JsonValueKind.Object } e:
                var read = new Dictionary<int, float>();
                foreach (var property in e.EnumerateObject())
                {
                    if (!int.TryParse(property.Name, System.Globalization.CultureInfo.InvariantCulture, out int id) || property.Value.ValueKind != JsonValueKind.Number)
                        throw BadValue(LogitBiasKey, nameof(WithLogitBias), value);
                    read[id] = property.Value.GetSingle();
                }
                return read;
            default: throw BadValue(LogitBiasKey, nameof(WithLogitBias), value);
        }
    }

    private static ChatOptions Set(ChatOptions options, string key, object value)
    {
        ArgumentNullException.ThrowIfNull(options);
        (options.AdditionalProperties ??= [])[key] = value;
        return options;
    }

    private static float? Number(ChatOptions? options, string key, string setter)
    {
        if (options?.AdditionalProperties is not { } properties || !properties.TryGetValue(key, out object? value)) return null;
        return value switch
        {
            float f => f,
            double d => (float)d,
            int i => i,
            JsonElement { ValueKind: JsonValueKind.Number } e => e.GetSingle(),
            _ => throw BadValue(key, setter, value),
        };
    }

    private static ArgumentException BadValue(string key, string setter, object? value) =>
        new($"ChatOptions.AdditionalProperties[\"{key}\"] has the wrong type (set it with {setter}), got {Describe(value)}.", "options");

    /// <summary>The prefix of AdditionalProperties keys that carry chat-template variables (<see cref="WithTemplateVariable"/>).</summary>
    public const string TemplateVariablePrefix = "timebill.template.";

    /// <summary>The largest budget accepted: one day (<see cref="BudgetText.MaxBudget"/>).</summary>
    public static TimeSpan MaxTimeBudget => BudgetText.MaxBudget;

    /// <summary>Sets the time budget T of the request, measured from the call; returns <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="budget"/> is not positive or exceeds <see cref="MaxTimeBudget"/>.</exception>
    public static ChatOptions WithTimeBudget(this ChatOptions options, TimeSpan budget)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckBudget(budget, nameof(budget));
        (options.AdditionalProperties ??= [])[TimeBudgetKey] = budget;
        return options;
    }

    /// <summary>The request's time budget, or null when it names none.</summary>
    /// <exception cref="ArgumentException">The stored value is not a budget.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The stored budget is not positive or exceeds <see cref="MaxTimeBudget"/>.</exception>
    public static TimeSpan? GetTimeBudget(this ChatOptions? options)
    {
        if (options?.AdditionalProperties is not { } properties || !properties.TryGetValue(TimeBudgetKey, out object? value)) return null;
        TimeSpan budget = value switch
        {
            TimeSpan span => span,
            string text when TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var parsed) => parsed,
            JsonElement { ValueKind: JsonValueKind.String } e when TimeSpan.TryParse(e.GetString(), System.Globalization.CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{TimeBudgetKey}\"] must be a TimeSpan (set it with WithTimeBudget), got {Describe(value)}.", nameof(options)),
        };
        CheckBudget(budget, nameof(options));
        return budget;
    }

    /// <summary>Sets the request's overrun strategy; returns <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="overrun"/> is not a defined strategy.</exception>
    public static ChatOptions WithOverrun(this ChatOptions options, OverrunStrategy overrun)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(overrun)) throw new ArgumentOutOfRangeException(nameof(overrun), overrun, "not an overrun strategy.");
        (options.AdditionalProperties ??= [])[OverrunKey] = overrun;
        return options;
    }

    /// <summary>The request's overrun strategy, or null when it names none.</summary>
    /// <exception cref="ArgumentException">The stored value is not an overrun strategy.</exception>
    public static OverrunStrategy? GetOverrun(this ChatOptions? options)
    {
        if (options?.AdditionalProperties is not { } properties || !properties.TryGetValue(OverrunKey, out object? value)) return null;
        string? name = value switch
        {
            string s => s,
            JsonElement { ValueKind: JsonValueKind.String } e => e.GetString(),
            _ => null,
        };
        if (value is OverrunStrategy strategy && Enum.IsDefined(strategy)) return strategy;
        try
        {
            if (name is not null) return BudgetText.ParseOverrun(name);
        }
        catch (ArgumentException) { }
        throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{OverrunKey}\"] must be an OverrunStrategy (Kill or SkipNext; set it with WithOverrun), got {Describe(value)}.", nameof(options));
    }

    /// <summary>
    /// Sets a variable the model's chat template receives besides the messages and tools, such as Qwen3's
    /// <c>enable_thinking</c>; <paramref name="value"/> is a JSON value (a <see cref="System.Text.Json.Nodes.JsonNode"/>,
    /// a <see cref="JsonElement"/>, a string, number or bool, or null). Returns <paramref name="options"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An empty name.</exception>
    public static ChatOptions WithTemplateVariable(this ChatOptions options, string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        (options.AdditionalProperties ??= [])[TemplateVariablePrefix + name] = value;
        return options;
    }

    /// <summary>The chat-template variables of the request, by name (empty when it sets none).</summary>
    public static IReadOnlyDictionary<string, object?> GetTemplateVariables(this ChatOptions? options) =>
        options?.AdditionalProperties is not { } properties
            ? new Dictionary<string, object?>()
            : properties.Where(p => p.Key.StartsWith(TemplateVariablePrefix, StringComparison.Ordinal) && p.Key.Length > TemplateVariablePrefix.Length)
                .ToDictionary(p => p.Key[TemplateVariablePrefix.Length..], p => p.Value);

    internal static void CheckBudget(TimeSpan budget, string parameter)
    {
        if (!BudgetText.IsValid(budget))
            throw new ArgumentOutOfRangeException(parameter, budget, $"the time budget must be positive and at most {MaxTimeBudget}.");
    }

    private static string Describe(object? value) => value is null ? "null" : $"{value} ({value.GetType().Name})";
}
