using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using TimeBill.Core.Budget;
using TimeBill.Core.Generation;
using TimeBill.Core.Planning;
using TimeBill.Predictors.Chat;

namespace TimeBill.Tests.Chat;

/// <summary>What the client sends a generator for each ChatOptions field, what it refuses, and what it answers.</summary>
public sealed class TimeBillChatClientMappingTests
{
    /// <summary>Records the request; answers with <see cref="Result"/>, streamed as two tokens.</summary>
    private sealed class RecordingGenerator : IBudgetedGenerator, IDisposable
    {
        public BudgetedRequest? Last { get; private set; }
        public bool Disposed { get; private set; }
        public BudgetedResult Result { get; set; } = new()
        {
            Status = BudgetStatus.Completed, Text = "ok!", Ids = [5, 6], PromptIds = [1, 2, 3], StopReason = StopReason.StopToken,
            Budget = TimeSpan.FromSeconds(1), PrefillTime = TimeSpan.FromMilliseconds(2), DecodeTime = TimeSpan.FromMilliseconds(3),
            TotalTime = TimeSpan.FromMilliseconds(6), Plan = new BudgetPlan(0.25, true, 12.5, 37, null, 10, 900),
        };

        public Task<BudgetedResult> GenerateAsync(BudgetedRequest request, CancellationToken cancellationToken = default)
        {
            Last = request;
            return Task.FromResult(Result);
        }

        public async IAsyncEnumerable<BudgetedStreamItem> StreamAsync(BudgetedRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Last = request;
            await Task.Yield();
            yield return new BudgetedStreamItem(new GeneratedToken(5, "ok", 0), null);
            yield return new BudgetedStreamItem(new GeneratedToken(6, "", 1), null);
            yield return new BudgetedStreamItem(new GeneratedToken(-1, "!", 2), null);
            yield return new BudgetedStreamItem(default, Result);
        }

        public void Dispose() => Disposed = true;
    }

    private static readonly ChatMessage[] Hi = [new(ChatRole.User, "hi")];

    [Fact]
    public async Task EveryHonouredFieldReachesTheRequest()
    {
        var generator = new RecordingGenerator();
        using var client = new TimeBillChatClient(generator, modelId: "stories260K");
        var options = new ChatOptions
        {
            ModelId = "stories260K", MaxOutputTokens = 40, Temperature = 0.7f, TopP = 0.9f, TopK = 20, Seed = 5_000_000_000L,
            FrequencyPenalty = 0.5f, PresencePenalty = 0.25f, StopSequences = ["The end", "\nUser:"], Instructions = "Tell a story.",
            ResponseFormat = ChatResponseFormat.Text, ToolMode = ChatToolMode.Auto, AllowMultipleToolCalls = true, AllowBackgroundResponses = true,
            Reasoning = new ReasoningOptions { Effort = ReasoningEffort.None }, RawRepresentationFactory = _ => null,
            AdditionalProperties = new() { ["other.vendor"] = 1 },
        }.WithTimeBudget(TimeSpan.FromMilliseconds(250)).WithOverrun(OverrunStrategy.SkipNext);

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], options);

        var request = generator.Last!;
        Assert.Equal("System: Tell a story.\nUser: Once upon a time\nAssistant:", request.Prompt);
        Assert.Equal(TimeSpan.FromMilliseconds(250), request.Budget);
        Assert.Equal(OverrunStrategy.SkipNext, request.Overrun);
        Assert.Equal(40, request.MaxNewTokens);
        Assert.Equal(["The end", "\nUser:"], request.StopSequences);
        var s = request.Sampling;
        Assert.Equal((0.7f, 0.9f, 20, 0.5f, 0.25f, 1f), (s.Temperature, s.TopP, s.TopK, s.FrequencyPenalty, s.PresencePenalty, s.RepetitionPenalty));
        Assert.Equal(5_000_000_000L, s.Seed); // long all the way, no narrowing
    }

    [Fact]
    public async Task SamplingControlsChatOptionsLacksTravelInAdditionalProperties()
    {
        var generator = new RecordingGenerator();
        using var client = new TimeBillChatClient(generator);
        var options = new ChatOptions { Temperature = 1 }.WithMinP(0.05f).WithRepetitionPenalty(1.3f).WithLogitBias(new Dictionary<int, float> { [7] = float.NegativeInfinity, [9] = 2 });
        await client.GetResponseAsync(Hi, options);
        var s = generator.Last!.Sampling;
        Assert.Equal((0.05f, 1.3f), (s.MinP, s.RepetitionPenalty));
        Assert.Equal(new Dictionary<int, float> { [7] = float.NegativeInfinity, [9] = 2 }, s.LogitBias);

        // As they arrive after a JSON round trip through middleware.
        var json = System.Text.Json.JsonDocument.Parse("""{"min_p": 0.1, "bias": {"3": -5}}""").RootElement;
        var fromJson = new ChatOptions { Temperature = 1, AdditionalProperties = new() { [TimeBillChatOptionsExtensions.MinPKey] = json.GetProperty("min_p"), [TimeBillChatOptionsExtensions.LogitBiasKey] = json.GetProperty("bias") } };
        await client.GetResponseAsync(Hi, fromJson);
        Assert.Equal(0.1f, generator.Last!.Sampling.MinP);
        Assert.Equal(new Dictionary<int, float> { [3] = -5 }, generator.Last!.Sampling.LogitBias);

        var bad = new ChatOptions { AdditionalProperties = new() { [TimeBillChatOptionsExtensions.MinPKey] = "lots" } };
        Assert.Contains(TimeBillChatOptionsExtensions.MinPKey, (await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Hi, bad))).Message);
        var outOfRange = new ChatOptions().WithMinP(1.5f);
        Assert.Contains("MinP", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(Hi, outOfRange))).Message);
    }

    [Fact]
    public async Task WithoutOptionsTheClientDefaultsApply()
    {
        var generator = new RecordingGenerator();
        using var client = new TimeBillChatClient(generator, new TimeBillChatClientOptions
        {
            DefaultBudget = TimeSpan.FromMilliseconds(800), DefaultOverrun = OverrunStrategy.SkipNext, DefaultMaxOutputTokens = 12,
        });
        await client.GetResponseAsync(Hi);
        var request = generator.Last!;
        Assert.Equal((TimeSpan.FromMilliseconds(800), OverrunStrategy.SkipNext, 12), (request.Budget, request.Overrun, request.MaxNewTokens));
        Assert.True(request.Sampling.IsGreedy);
        Assert.Null(request.Sampling.Seed);
        Assert.Null(request.StopSequences);
        Assert.Equal("timebill", client.ModelId);

        Assert.Throws<ArgumentOutOfRangeException>(() => new TimeBillChatClient(generator, new TimeBillChatClientOptions { DefaultBudget = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TimeBillChatClient(generator, new TimeBillChatClientOptions { DefaultMaxOutputTokens = 0 }));
    }

    public static TheoryData<string, ChatOptions> Unsupported() => new()
    {
        { "ResponseFormat", new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocumentOf("""{"type":"string","pattern":"a+"}"""), "story") } },
        { "Tools", new ChatOptions { Tools = [AIFunctionFactory.Create(() => 42, "answer")] } },
        { "ToolMode", new ChatOptions { ToolMode = ChatToolMode.RequireAny } },
        { "ToolMode", new ChatOptions { ToolMode = ChatToolMode.RequireSpecific("answer") } },
        { "ConversationId", new ChatOptions { ConversationId = "c-1" } },
        { "ContinuationToken", new ChatOptions { ContinuationToken = ResponseContinuationToken.FromBytes(new byte[] { 1 }) } },
        { "Reasoning", new ChatOptions { Reasoning = new ReasoningOptions { Effort = ReasoningEffort.High } } },
        { "RawRepresentationFactory", new ChatOptions { RawRepresentationFactory = _ => new object() } },
    };

    private static System.Text.Json.JsonElement JsonDocumentOf(string json) => System.Text.Json.JsonDocument.Parse(json).RootElement;

    [Theory]
    [MemberData(nameof(Unsupported))]
    public async Task WhatCannotBeHonouredThrowsNamingTheField(string field, ChatOptions options)
    {
        var generator = new RecordingGenerator();
        using var client = new TimeBillChatClient(generator);
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(Hi, options));
        Assert.Contains($"ChatOptions.{field}", error.Message);
        await Assert.ThrowsAsync<NotSupportedException>(async () => { await foreach (var _ in client.GetStreamingResponseAsync(Hi, options)) { } });
        Assert.Null(generator.Last);
    }

    [Theory]
    [InlineData("Temperature")]
    [InlineData("TopP")]
    [InlineData("TopK")]
    [InlineData("FrequencyPenalty")]
    [InlineData("PresencePenalty")]
    [InlineData("MaxOutputTokens")]
    public async Task OutOfRangeValuesNameTheirChatOptionsField(string field)
    {
        using var client = new TimeBillChatClient(new RecordingGenerator());
        var options = field switch
        {
            "Temperature" => new ChatOptions { Temperature = -0.5f },
            "TopP" => new ChatOptions { TopP = 0 },
            "TopK" => new ChatOptions { TopK = -1 },
            "FrequencyPenalty" => new ChatOptions { FrequencyPenalty = float.NaN },
            "PresencePenalty" => new ChatOptions { PresencePenalty = 1000 },
            _ => new ChatOptions { MaxOutputTokens = 0 },
        };
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(Hi, options));
        Assert.Contains($"ChatOptions.{field}", error.Message);
    }

    [Fact]
    public async Task AnotherModelIdOrAnUnknownTimeBillKeyIsRefused()
    {
        var generator = new RecordingGenerator();
        using var client = new TimeBillChatClient(generator, new TimeBillChatClientOptions { ModelId = "stories260K" });
        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Hi, new ChatOptions { ModelId = "gpt-4o" }));
        Assert.Contains("ChatOptions.ModelId", error.Message);
        Assert.Contains("gpt-4o", error.Message);
        await client.GetResponseAsync(Hi, new ChatOptions { ModelId = "stories260K" });

        var typo = new ChatOptions { AdditionalProperties = new() { ["timebill.budjet"] = TimeSpan.FromSeconds(1) } };
        Assert.Contains("timebill.budjet", (await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Hi, typo))).Message);
        var empty = new ChatOptions { StopSequences = [""] };
        Assert.Contains("StopSequences", (await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Hi, empty))).Message);
    }

    [Fact]
    public async Task TheResponseCarriesIdsUsageFinishReasonAndThePlan()
    {
        using var client = new TimeBillChatClient(new RecordingGenerator(), modelId: "m");
        var before = DateTimeOffset.UtcNow;
        var response = await client.GetResponseAsync(Hi);
        var again = await client.GetResponseAsync(Hi);

        Assert.Equal("ok!", response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.False(string.IsNullOrEmpty(response.Messages.Single().MessageId));
        Assert.Equal("m", response.ModelId);
        Assert.False(string.IsNullOrEmpty(response.ResponseId));
        Assert.NotEqual(response.ResponseId, again.ResponseId);
        Assert.InRange(response.CreatedAt!.Value, before, DateTimeOffset.UtcNow);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal((3L, 2L, 5L), (response.Usage!.InputTokenCount, response.Usage.OutputTokenCount, response.Usage.TotalTokenCount));
        var p = response.AdditionalProperties!;
        Assert.Equal("Completed", p[TimeBillChatClient.StatusKey]);
        Assert.Equal(0.25, p[TimeBillChatClient.AlphaKey]);
        Assert.Equal(12.5, p[TimeBillChatClient.PredictedLengthKey]);
        Assert.Equal(37, p[TimeBillChatClient.WorstCaseLengthKey]);
        Assert.Equal(true, p[TimeBillChatClient.FeasibleKey]);
        Assert.Equal((2.0, 3.0, 6.0, 1000.0), ((double)p[TimeBillChatClient.PrefillMillisecondsKey]!, (double)p[TimeBillChatClient.DecodeMillisecondsKey]!,
            (double)p[TimeBillChatClient.TotalMillisecondsKey]!, (double)p[TimeBillChatClient.BudgetMillisecondsKey]!));
    }

    [Fact]
    public async Task AStreamSharesOneResponseIdAndEndsWithUsage()
    {
        using var client = new TimeBillChatClient(new RecordingGenerator(), modelId: "m");
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Hi)) updates.Add(update);

        Assert.Equal(3, updates.Count); // "ok", the held-back "!", the end; the empty token adds nothing
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        Assert.Single(updates.Select(u => u.MessageId).Distinct());
        Assert.All(updates, u => Assert.Equal(("m", ChatRole.Assistant), (u.ModelId, u.Role!.Value)));
        Assert.All(updates, u => Assert.NotNull(u.CreatedAt));
        Assert.Equal("ok!", string.Concat(updates.Select(u => u.Text)));
        var last = updates[^1];
        Assert.Equal(ChatFinishReason.Stop, last.FinishReason);
        Assert.Equal(5L, Assert.IsType<UsageContent>(Assert.Single(last.Contents)).Details.TotalTokenCount);
        Assert.Equal("Completed", last.AdditionalProperties![TimeBillChatClient.StatusKey]);
        var response = updates.ToChatResponse();
        Assert.Equal((3L, 2L), (response.Usage!.InputTokenCount, response.Usage.OutputTokenCount));
    }

    [Theory]
    [InlineData(BudgetStatus.Completed, StopReason.StopToken, "stop")]
    [InlineData(BudgetStatus.Completed, StopReason.StopSequence, "stop")]
    [InlineData(BudgetStatus.Completed, StopReason.MaxTokens, "length")]
    [InlineData(BudgetStatus.Completed, StopReason.ContextFull, "length")]
    [InlineData(BudgetStatus.DeadlineExceeded, StopReason.Interrupted, "deadline")]
    [InlineData(BudgetStatus.Infeasible, StopReason.Interrupted, "deadline")]
    [InlineData(BudgetStatus.Infeasible, null, "deadline")]
    [InlineData(BudgetStatus.Skipped, null, "deadline")]
    [InlineData(BudgetStatus.DeadlineExceeded, StopReason.StopToken, "stop")] // Skip-Next: finished late, by its own stop
    public void FinishReasonsFollowHowTheJobEnded(BudgetStatus status, StopReason? stop, string expected) =>
        Assert.Equal(expected, TimeBillChatClient.FinishReasonOf(new BudgetedResult { Status = status, StopReason = stop })!.Value.Value);

    [Fact]
    public void GetServiceAnswersMetadataTheClientAndTheGenerator()
    {
        var generator = new RecordingGenerator();
        using var client = new TimeBillChatClient(generator, modelId: "stories260K");
        var metadata = client.GetService<ChatClientMetadata>()!;
        Assert.Equal(("TimeBill", null, "stories260K"), (metadata.ProviderName, metadata.ProviderUri, metadata.DefaultModelId));
        Assert.Same(client, client.GetService<IChatClient>());
        Assert.Same(client, client.GetService<TimeBillChatClient>());
        Assert.Same(generator, client.GetService<IBudgetedGenerator>());
        Assert.Null(client.GetService<ChatClientMetadata>("key"));
        Assert.Null(client.GetService<IChatClient>("key"));
        Assert.Null(client.GetService<string>());
        Assert.Throws<ArgumentNullException>(() => client.GetService(null!));
    }

    [Fact]
    public async Task AWrappedGeneratorIsNotDisposedWithTheClient()
    {
        var generator = new RecordingGenerator();
        var client = new TimeBillChatClient(generator);
        client.Dispose();
        client.Dispose();
        Assert.False(generator.Disposed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetResponseAsync(Hi));
    }
}
