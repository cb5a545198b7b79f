using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TimeBill.Core.Budget;
using System.Collections.Concurrent;
using TimeBill.Core.ChatTemplates;
using TimeBill.Core.Constraints;
using TimeBill.Core.Generation;
using TimeBill.Core.Sampling;
using TimeBill.Core.Tokenization;
using TimeBill.Predictors.Budget;

namespace TimeBill.Predictors.Chat;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over TimeBill's budgeted generation: every request gets a deadline
/// (<see cref="TimeBillChatOptionsExtensions.WithTimeBudget"/>, else <see cref="TimeBillChatClientOptions.DefaultBudget"/>)
/// and an overrun strategy (<see cref="TimeBillChatOptionsExtensions.WithOverrun"/>).
/// <para>
/// Messages are rendered with the model's chat template (<see cref="TimeBillChatClientOptions.Tokenizer"/>, by default
/// the generator's tokenizer's) and its rendering encoded as the prompt; tools (functions) are given to the template,
/// and <c>&lt;tool_call&gt;</c> blocks in the answer come back as <see cref="FunctionCallContent"/> (finish reason
/// ToolCalls; a stream holds such text back until the answer is complete). When the template shows the model that form,
/// the calls are constrained (<see cref="OutputConstraint.ToolCalls"/>): the name is one of the tools' and the arguments
/// a value of its parameter schema, so every call parses; a required tool mode makes the whole answer calls, Auto lets
/// the model answer in text and constrains the rest once it opens a call. Template variables such as Qwen3's
/// <c>enable_thinking</c> travel in <see cref="TimeBillChatOptionsExtensions.WithTemplateVariable"/>. Without a chat
/// template, messages become <see cref="PlainChatFormat"/> text and tools are refused.
/// </para>
/// <para>
/// ChatOptions honoured: Temperature (unset: greedy), TopP, TopK (0: off), MaxOutputTokens, StopSequences (matched
/// in the text across token boundaries, not returned), Seed, FrequencyPenalty, PresencePenalty, min-p, the repetition
/// penalty and a logit bias (<see cref="TimeBillChatOptionsExtensions.WithMinP"/> and its neighbours), Instructions (a System
/// message before the others), ModelId (must be this client's), ResponseFormat Text, Json (any compact JSON object,
/// <see cref="OutputConstraint.JsonObject"/>) and Json with a schema (<see cref="OutputConstraint.JsonSchema(System.Text.Json.JsonElement)"/>'s
/// subset), both enforced by constrained decoding and closed early under Kill, Tools (functions, with a chat
/// template), ToolMode None, Auto, RequireAny and a required function (constrained and closed early the same way),
/// AllowMultipleToolCalls (false: at most one call; unset: several), AllowBackgroundResponses (nothing to do: responses
/// always come at once), Reasoning with effort and output None. Anything else
/// that would change the output throws <see cref="NotSupportedException"/> naming the field: a schema outside the subset
/// (naming the keyword and its path), a tool whose parameter schema is outside it (naming the tool and the keyword), a
/// JSON response format together with tools, a required tool mode with a template that shows no <c>&lt;tool_call&gt;</c> form,
/// ConversationId, ContinuationToken, other Reasoning, a RawRepresentationFactory that returns an object. Keys of
/// AdditionalProperties outside the <c>timebill.</c> prefix are left to other components; unknown <c>timebill.</c>
/// keys throw.
/// </para>
/// <para>
/// Responses finish with
/// <see cref="ChatFinishReason.Stop"/> (stop token or stop sequence), <see cref="ChatFinishReason.Length"/> (token
/// cap or full context) or <see cref="Deadline"/> (the deadline ended the job: killed, dropped or skipped); their
/// AdditionalProperties carry the keys in <see cref="TimeBillChatClient"/>'s <c>*Key</c> constants. Usage (tokens in
/// and out) comes on the response, and as a <see cref="UsageContent"/> in a stream's last update.
/// </para>
/// </summary>
public sealed class TimeBillChatClient : IChatClient
{
    /// <summary>The provider name in <see cref="ChatClientMetadata"/>.</summary>
    public const string ProviderName = "TimeBill";
    /// <summary>Response property: the <see cref="BudgetStatus"/>, as its name.</summary>
    public const string StatusKey = "timebill.status";
    /// <summary>Response property: the time budget T in milliseconds.</summary>
    public const string BudgetMillisecondsKey = "timebill.budget_ms";
    /// <summary>Response property: the eviction ratio α the planner chose (absent without a plan).</summary>
    public const string AlphaKey = "timebill.alpha";
    /// <summary>Response property: the predicted response length N̂ (absent without a plan).</summary>
    public const string PredictedLengthKey = "timebill.predicted_length";
    /// <summary>Response property: the worst-case length N_W the plan budgeted for (absent without a plan).</summary>
    public const string WorstCaseLengthKey = "timebill.worst_case_length";
    /// <summary>Response property: whether the plan's worst case fitted the budget (absent without a plan).</summary>
    public const string FeasibleKey = "timebill.feasible";
    /// <summary>Response property: the measured prefill time in milliseconds.</summary>
    public const string PrefillMillisecondsKey = "timebill.prefill_ms";
    /// <summary>Response property: the measured decode time in milliseconds.</summary>
    public const string DecodeMillisecondsKey = "timebill.decode_ms";
    /// <summary>Response property: the time from the call to the complete result in milliseconds.</summary>
    public const string TotalMillisecondsKey = "timebill.total_ms";

    /// <summary>Response property: with a JSON response format, whether the deadline or the token cap closed the answer early (<see cref="BudgetedResult.ClosedEarly"/>).</summary>
    public const string ClosedEarlyKey = "timebill.closed_early";

    /// <summary>The finish reason of a response whose deadline ended it ("deadline").</summary>
    public static ChatFinishReason Deadline { get; } = new("deadline");

    private readonly IBudgetedGenerator _generator;
    private readonly bool _ownsGenerator;
    private readonly ChatClientMetadata _metadata;
    private readonly ILogger _logger;
    private readonly TimeSpan _defaultBudget;
    private readonly OverrunStrategy _defaultOverrun;
    private readonly int _defaultMaxTokens;
    private readonly TextTokenizer? _tokenizer;
    private int _disposed;

    /// <summary>
    /// Builds a generator from a Hugging Face model folder and the files named in <paramref name="options"/> (profile,
    /// length predictor, exit heads) through <see cref="BudgetedGeneratorBuilder"/>; the client owns it and disposes it.
    /// The model id is <see cref="TimeBillChatClientOptions.ModelId"/>, else the folder's name.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A default in <paramref name="options"/> is out of range.</exception>
    public TimeBillChatClient(string modelFolder, TimeBillChatClientOptions? options = null)
        : this(Build(modelFolder, options), options ?? new TimeBillChatClientOptions(), options?.ModelId ?? FolderName(modelFolder), owns: true)
    {
    }

    /// <summary>
    /// Wraps <paramref name="generator"/> (not owned: the caller disposes it). The model id is
    /// <paramref name="modelId"/>, else <see cref="TimeBillChatClientOptions.ModelId"/>, else the model's name when
    /// the generator is a <see cref="BudgetedGenerator"/>, else "timebill".
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A default in <paramref name="options"/> is out of range.</exception>
    public TimeBillChatClient(IBudgetedGenerator generator, TimeBillChatClientOptions? options = null, string? modelId = null)
        : this(generator ?? throw new ArgumentNullException(nameof(generator)), options ?? new TimeBillChatClientOptions(),
            modelId ?? options?.ModelId ?? (generator as BudgetedGenerator)?.Model.Name ?? "timebill", owns: false)
    {
    }

    private TimeBillChatClient(IBudgetedGenerator generator, TimeBillChatClientOptions options, string modelId, bool owns)
    {
        try
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
            TimeBillChatOptionsExtensions.CheckBudget(options.DefaultBudget, nameof(options.DefaultBudget));
            if (!Enum.IsDefined(options.DefaultOverrun))
                throw new ArgumentOutOfRangeException(nameof(options.DefaultOverrun), options.DefaultOverrun, "not an overrun strategy.");
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.DefaultMaxOutputTokens, nameof(options.DefaultMaxOutputTokens));
        }
        catch
        {
            if (owns) (generator as IDisposable)?.Dispose();
            throw;
        }
        _generator = generator;
        _ownsGenerator = owns;
        ModelId = modelId;
        _metadata = new ChatClientMetadata(ProviderName, null, modelId);
        _logger = options.Logger ?? options.LoggerFactory?.CreateLogger<TimeBillChatClient>() ?? NullLogger<TimeBillChatClient>.Instance;
        _defaultBudget = options.DefaultBudget;
        _defaultOverrun = options.DefaultOverrun;
        _defaultMaxTokens = options.DefaultMaxOutputTokens;
        _tokenizer = options.Tokenizer ?? (generator as BudgetedGenerator)?.Tokenizer;
    }

    /// <summary>The model's chat template the messages are rendered with; null: <see cref="PlainChatFormat"/>.</summary>
    public ChatTemplate? ChatTemplate => _tokenizer?.ChatTemplate;

    /// <summary>The model id this client reports and accepts.</summary>
    public string ModelId { get; }

    /// <summary>The generator the requests run on.</summary>
    public IBudgetedGenerator Generator => _generator;

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = ToRequest(messages, options);
        var created = DateTimeOffset.UtcNow;
        string responseId = NewId("resp");
        var result = await _generator.GenerateAsync(request, cancellationToken).ConfigureAwait(false);
        Log(responseId, request, result);
        bool tools = HasTools(options);
        var contents = tools ? ToolCallParser.Parse(result.Text, () => NewId("call")) : [new TextContent(result.Text)];
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents) { MessageId = NewId("msg"), CreatedAt = created })
        {
            ResponseId = responseId,
            ModelId = ModelId,
            CreatedAt = created,
            FinishReason = contents.Any(c => c is FunctionCallContent) ? ChatFinishReason.ToolCalls : FinishReasonOf(result),
            Usage = UsageOf(result),
            AdditionalProperties = PropertiesOf(result),
        };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = ToRequest(messages, options);
        var created = DateTimeOffset.UtcNow;
        string responseId = NewId("resp"), messageId = NewId("msg");
        ChatResponseUpdate Update(IList<AIContent> contents) => new(ChatRole.Assistant, contents)
        {
            ResponseId = responseId, MessageId = messageId, ModelId = ModelId, CreatedAt = created,
        };
        // With tools, text from a possible "<tool_call>" on is held back and parsed once the answer is complete.
        var held = HasTools(options) ? new System.Text.StringBuilder() : null;
        await foreach (var item in _generator.StreamAsync(request, cancellationToken).ConfigureAwait(false))
        {
            if (item.Result is { } result)
            {
                Log(responseId, request, result);
                var rest = held is null ? [] : ToolCallParser.Parse(held.ToString(), () => NewId("call"));
                var last = Update([.. rest, new UsageContent(UsageOf(result))]);
                last.FinishReason = rest.Any(c => c is FunctionCallContent) ? ChatFinishReason.ToolCalls : FinishReasonOf(result);
                last.AdditionalProperties = PropertiesOf(result);
                yield return last;
            }
            else if (!string.IsNullOrEmpty(item.Token.Text))
            {
                if (held is null)
                {
                    yield return Update([new TextContent(item.Token.Text)]);
                    continue;
                }
                held.Append(item.Token.Text);
                int safe = ReleasableLength(held);
                if (safe == 0) continue;
                string text = held.ToString(0, safe);
                held.Remove(0, safe);
                yield return Update([new TextContent(text)]);
            }
        }
    }

    /// <summary>How much of the held text can go out now: everything before a tool-call opening or a prefix of one at its end.</summary>
    private static int ReleasableLength(System.Text.StringBuilder held)
    {
        string text = held.ToString();
        int open = text.IndexOf(ToolCallParser.Open, StringComparison.Ordinal);
        if (open >= 0) return open == 0 ? 0 : open;
        for (int keep = Math.Min(ToolCallParser.Open.Length - 1, text.Length); keep > 0; keep--)
            if (ToolCallParser.Open.StartsWith(text[^keep..], StringComparison.Ordinal)) return text.Length - keep;
        return text.Length;
    }

    private static bool HasTools(ChatOptions? options) => options?.Tools is { Count: > 0 } && options.ToolMode is not NoneChatToolMode;

    /// <summary>
    /// <see cref="ChatClientMetadata"/> ("TimeBill", no URI, the model id), this client, or the generator for a type
    /// they are; null for anything else and for every non-null <paramref name="serviceKey"/>.
    /// </summary>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType.IsInstanceOfType(_generator) ? _generator
            : null;
    }

    /// <summary>Disposes the generator when this client built it; a wrapped generator stays the caller's.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_ownsGenerator) (_generator as IDisposable)?.Dispose();
    }

    /// <summary>The budgeted request for <paramref name="messages"/> under <paramref name="options"/>.</summary>
    /// <exception cref="NotSupportedException">A field that this client cannot honour is set, named.</exception>
    /// <exception cref="ArgumentException">A bad value or a foreign ModelId, named.</exception>
    internal BudgetedRequest ToRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ArgumentNullException.ThrowIfNull(messages);
        if (options is not null) CheckSupported(options);
        int maxTokens = options?.MaxOutputTokens ?? _defaultMaxTokens;
        if (maxTokens <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), maxTokens, "ChatOptions.MaxOutputTokens must be positive.");
        var sampling = new SamplingOptions
        {
            Temperature = options?.Temperature ?? 0f,
            TopP = options?.TopP ?? 1f,
            TopK = options?.TopK ?? 0,
            Seed = options?.Seed,
            FrequencyPenalty = options?.FrequencyPenalty ?? 0f,
            PresencePenalty = options?.PresencePenalty ?? 0f,
            MinP = options.GetMinP() ?? 0f,
            RepetitionPenalty = options.GetRepetitionPenalty() ?? 1f,
            LogitBias = options.GetLogitBias(),
        };
        try { sampling.Validate(); }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentOutOfRangeException(nameof(options), e.ActualValue, $"ChatOptions.{e.ParamName}: {e.Message.Split(" (Parameter")[0].Split(Environment.NewLine)[0]}");
        }
        IReadOnlyList<string>? stops = null;
        if (options?.StopSequences is { Count: > 0 } given)
        {
            if (given.Any(string.IsNullOrEmpty))
                throw new ArgumentException("ChatOptions.StopSequences holds a null or empty string.", nameof(options));
            stops = [.. given];
        }
        var (prompt, promptIds, rendering) = Render(messages, options);
        return new BudgetedRequest
        {
            Prompt = prompt,
            PromptIds = promptIds,
            Budget = options.GetTimeBudget() ?? _defaultBudget,
            Overrun = options.GetOverrun() ?? _defaultOverrun,
            MaxNewTokens = maxTokens,
            Sampling = sampling,
            StopSequences = stops,
            Constraint = ConstraintOf(options?.ResponseFormat) ?? ToolConstraintOf(options, rendering),
        };
    }

    // Compiled response-format schemas and tool sets by their text, so that a schema sent with every request is compiled
    // (and lifted to the vocabulary) once; emptied when it grows past a few dozen.
    private readonly ConcurrentDictionary<string, OutputConstraint> _schemas = new();
    private static readonly Lazy<OutputConstraint> AnyJsonObject = new(() => OutputConstraint.JsonObject());

    /// <summary>The constraint a response format asks for: none for text, any JSON object, or a JSON Schema's values.</summary>
    private OutputConstraint? ConstraintOf(ChatResponseFormat? format)
    {
        if (format is not ChatResponseFormatJson json) return null;
        if (json.Schema is not { } schema) return AnyJsonObject.Value;
        string key = schema.GetRawText();
        if (_schemas.TryGetValue(key, out var known)) return known;
        OutputConstraint constraint;
        try { constraint = OutputConstraint.JsonSchema(schema); }
        catch (ArgumentException e) { throw Unsupported("ResponseFormat", $"its JSON schema cannot be enforced ({e.Message.TrimEnd('.')})"); }
        if (_schemas.Count >= 32) _schemas.Clear();
        return _schemas.GetOrAdd(key, constraint);
    }

    /// <summary>
    /// The constraint on tool calls: when the template shows the model the <see cref="ToolCallGrammar"/> form, a required
    /// tool mode makes the whole answer calls (of the named function, if one is named) and Auto lets text come first, the
    /// rest constrained from the opening tag on; several calls unless AllowMultipleToolCalls is false. Null without tools,
    /// and for Auto when the template writes calls in another form (they are then parsed, not constrained).
    /// </summary>
    /// <exception cref="NotSupportedException">A required call the template does not show in this form, or a tool whose parameter schema cannot be enforced, naming the tool and the keyword.</exception>
    /// <exception cref="ArgumentException">A required function name that is not among the tools.</exception>
    private OutputConstraint? ToolConstraintOf(ChatOptions? options, string? rendering)
    {
        if (!HasTools(options)) return null;
        var required = options!.ToolMode as RequiredChatToolMode;
        if (rendering?.Contains(ToolCallGrammar.Open, StringComparison.Ordinal) != true)
            return required is null ? null
                : throw Unsupported("ToolMode", $"the model's chat template does not show tool calls in the {ToolCallGrammar.Open} form this client constrains, so none can be required");
        var tools = options.Tools!.OfType<AIFunctionDeclaration>().Select(f => new ToolDeclaration(f.Name, f.JsonSchema)).ToList();
        if (required?.RequiredFunctionName is { } name)
        {
            tools = [.. tools.Where(t => t.Name == name)];
            if (tools.Count == 0) throw new ArgumentException($"ChatOptions.ToolMode requires the function '{name}', which is not among ChatOptions.Tools.", nameof(options));
        }
        var mode = required is null ? ToolCallMode.Auto : ToolCallMode.Required;
        bool multiple = options.AllowMultipleToolCalls ?? true;
        string key = $"tools {mode} {multiple} " + string.Join('\n', tools.Select(t => $"{t.Name} {t.Parameters.GetRawText()}"));
        if (_schemas.TryGetValue(key, out var known)) return known;
        OutputConstraint constraint;
        try { constraint = OutputConstraint.ToolCalls(tools, mode, multiple); }
        catch (ArgumentException e) { throw Unsupported("Tools", $"the tool calls cannot be constrained ({e.Message.Split(" (Parameter")[0].TrimEnd('.')})"); }
        if (_schemas.Count >= 32) _schemas.Clear();
        return _schemas.GetOrAdd(key, constraint);
    }

    /// <summary>
    /// The prompt: the template's rendering as ids (and its text) when the model has a chat template, else
    /// <see cref="PlainChatFormat"/> text.
    /// </summary>
    private (string? Prompt, int[]? Ids, string? Rendering) Render(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var variables = options.GetTemplateVariables();
        if (_tokenizer?.ChatTemplate is not { } template)
        {
            if (options?.Tools is { Count: > 0 }) throw Unsupported("Tools", "the model has no chat template to present tools with");
            if (variables.Count > 0) throw Unsupported("AdditionalProperties", $"template variables ({string.Join(", ", variables.Keys)}) need a chat template, and the model has none");
            return (PlainChatFormat.Format(messages, options?.Instructions), null, null);
        }
        var templateOptions = new ChatTemplateOptions
        {
            AddGenerationPrompt = true,
            Tools = HasTools(options) ? ChatTemplateInput.Tools(options!.Tools) : null,
            Variables = variables.Count > 0 ? variables : null,
        };
        try
        {
            var rendered = template.RenderAndEncode(_tokenizer, ChatTemplateInput.Messages(messages, options?.Instructions), templateOptions);
            return (null, rendered.Ids, rendered.Text);
        }
        catch (TimeBill.Templates.TemplateException e)
        {
            throw new ArgumentException($"the model's chat template cannot render these messages: {e.Message}", nameof(messages), e);
        }
    }

    private void CheckSupported(ChatOptions options)
    {
        if (options.ModelId is { } model && !string.Equals(model, ModelId, StringComparison.Ordinal))
            throw new ArgumentException($"ChatOptions.ModelId is '{model}', but this client runs '{ModelId}'.", nameof(options));
        if (options.ToolMode is RequiredChatToolMode && options.Tools is not { Count: > 0 })
            throw Unsupported("ToolMode", "a tool call is required, but ChatOptions.Tools holds no tool to call");
        if (options.ToolMode is not (null or NoneChatToolMode or AutoChatToolMode or RequiredChatToolMode))
            throw Unsupported("ToolMode", $"the tool mode {options.ToolMode.GetType().Name} is unknown to this client");
        if (options.ResponseFormat is not (null or ChatResponseFormatText or ChatResponseFormatJson))
            throw Unsupported("ResponseFormat", $"the response format {options.ResponseFormat.GetType().Name} is unknown to this client");
        if (options.ResponseFormat is ChatResponseFormatJson && HasTools(options))
            throw Unsupported("ResponseFormat", "a JSON answer and tool calls cannot both be required of one response");
        if (options.ConversationId is not null)
            throw Unsupported("ConversationId", "the client keeps no conversations: send the whole history");
        if (options.ContinuationToken is not null)
            throw Unsupported("ContinuationToken", "the client has no background responses to resume");
        if (options.Reasoning is { } reasoning
            && (reasoning.Effort is not (null or ReasoningEffort.None) || reasoning.Output is not (null or ReasoningOutput.None)))
            throw Unsupported("Reasoning", "the model does not reason before answering");
        if (options.RawRepresentationFactory?.Invoke(this) is { } raw)
            throw Unsupported("RawRepresentationFactory", $"the client has no raw options to take a {raw.GetType().Name} as");
        if (options.AdditionalProperties is { } properties)
            foreach (string key in properties.Keys)
                if (key.StartsWith("timebill.", StringComparison.Ordinal) && !KnownKeys.Contains(key)
                    && !key.StartsWith(TimeBillChatOptionsExtensions.TemplateVariablePrefix, StringComparison.Ordinal))
                    throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{key}\"] is not a TimeBill option (known: {string.Join(", ", KnownKeys)}, {TimeBillChatOptionsExtensions.TemplateVariablePrefix}NAME).", nameof(options));
    }

    private static readonly string[] KnownKeys =
    [
        TimeBillChatOptionsExtensions.TimeBudgetKey, TimeBillChatOptionsExtensions.OverrunKey, TimeBillChatOptionsExtensions.MinPKey,
        TimeBillChatOptionsExtensions.RepetitionPenaltyKey, TimeBillChatOptionsExtensions.LogitBiasKey,
    ];

    private static NotSupportedException Unsupported(string field, string why) =>
        new($"ChatOptions.{field} is not supported by {nameof(TimeBillChatClient)}: {why}.");

    /// <summary>Stop for a stop token or sequence, Length for the cap or a full context, <see cref="Deadline"/> when the deadline ended the job.</summary>
    internal static ChatFinishReason? FinishReasonOf(BudgetedResult result) => result.StopReason switch
    {
        StopReason.StopToken or StopReason.StopSequence => ChatFinishReason.Stop,
        StopReason.MaxTokens or StopReason.ContextFull => ChatFinishReason.Length,
        StopReason.Interrupted => Deadline,
        _ => result.Status == BudgetStatus.Completed ? null : Deadline,
    };

    private static UsageDetails UsageOf(BudgetedResult result) => new()
    {
        InputTokenCount = result.PromptIds.Count,
        CachedInputTokenCount = result.ReusedPromptTokens,
        OutputTokenCount = result.Ids.Count,
        TotalTokenCount = result.PromptIds.Count + result.Ids.Count,
    };

    private static AdditionalPropertiesDictionary PropertiesOf(BudgetedResult result)
    {
        var properties = new AdditionalPropertiesDictionary
        {
            [StatusKey] = result.Status.ToString(),
            [BudgetMillisecondsKey] = result.Budget.TotalMilliseconds,
            [PrefillMillisecondsKey] = result.PrefillTime.TotalMilliseconds,
            [DecodeMillisecondsKey] = result.DecodeTime.TotalMilliseconds,
            [TotalMillisecondsKey] = result.TotalTime.TotalMilliseconds,
        };
        if (result.ClosedEarly) properties[ClosedEarlyKey] = true;
        if (result.Plan is { } plan)
        {
            properties[AlphaKey] = plan.EvictionRatio;
            properties[PredictedLengthKey] = plan.PredictedLength;
            properties[WorstCaseLengthKey] = plan.WorstCaseLength;
            properties[FeasibleKey] = plan.Feasible;
        }
        return properties;
    }

    private void Log(string responseId, BudgetedRequest request, BudgetedResult result)
    {
        if (!_logger.IsEnabled(LogLevel.Debug)) return;
        ChatClientLog.Finished(_logger, responseId, request.Budget.TotalMilliseconds, request.Overrun, result.Status,
            result.Plan?.EvictionRatio, result.Plan?.PredictedLength, result.Plan?.WorstCaseLength,
            result.PrefillTime.TotalMilliseconds, result.DecodeTime.TotalMilliseconds, result.TotalTime.TotalMilliseconds,
            result.PromptIds.Count, result.Ids.Count);
    }

    private static string NewId(string kind) => $"timebill-{kind}-{Guid.NewGuid():N}";

    private static string FolderName(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        return new DirectoryInfo(folder).Name;
    }

    private static BudgetedGenerator Build(string modelFolder, TimeBillChatClientOptions? options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelFolder);
        options ??= new TimeBillChatClientOptions();
        var builder = new BudgetedGeneratorBuilder(modelFolder);
        if (options.ProfilePath is { } profile) builder.WithProfile(profile);
        if (options.LengthPredictorPath is { } lengths) builder.WithLengthPredictor(lengths);
        if (options.ExitHeadsPath is { } exits) builder.WithExitHeads(exits);
        if (options.Threads is { } threads) builder.WithThreads(threads);
        return builder.Build();
    }
}

/// <summary>The client's log messages.</summary>
internal static partial class ChatClientLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, EventName = "ChatResponseFinished",
        Message = "chat response {ResponseId}: budget {BudgetMs:0.###} ms ({Overrun}), status {Status}, α {Alpha}, N̂ {PredictedLength}, N_W {WorstCaseLength}, " +
            "prefill {PrefillMs:0.###} ms, decode {DecodeMs:0.###} ms, total {TotalMs:0.###} ms, {InputTokens} tokens in, {OutputTokens} out")]
    public static partial void Finished(ILogger logger, string responseId, double budgetMs, OverrunStrategy overrun, BudgetStatus status,
        double? alpha, double? predictedLength, int? worstCaseLength, double prefillMs, double decodeMs, double totalMs, int inputTokens, int outputTokens);
}
