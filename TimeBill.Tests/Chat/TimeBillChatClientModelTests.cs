using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TimeBill.Core.Budget;
using TimeBill.Core.Model;
using TimeBill.Core.Planning;
using TimeBill.Core.Tokenization;
using TimeBill.Predictors.Chat;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Tests.ExecutionTime;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Chat;

/// <summary>stories260K behind the chat client, with a fixed estimator (no profile needed).</summary>
public sealed class ChatModelFixture : IDisposable
{
    /// <summary>Prefill 2 ms, a step 0.3 ms + 0.001 ms per entry.</summary>
    internal static readonly ExecutionTimeEstimator Estimator = new(new ExecutionTimeCoefficients(
        new PrefillCost(0, 0, 2), new DecodeStepCost(0.001, 0.3), new LayeredDecodeStepCost(0.0002, 0.06, 0, 5)));

    public ChatModelFixture()
    {
        string folder = SharedAssets.Model("stories260K");
        Model = CausalLanguageModel.Load(folder);
        Generator = new BudgetedGenerator(Model, TextTokenizer.Load(folder, Model.GenerationConfig.BosTokenId), Estimator);
        Generator.WarmUp();
    }

    public CausalLanguageModel Model { get; }
    public BudgetedGenerator Generator { get; }

    public void Dispose()
    {
        Generator.Dispose();
        Model.Dispose();
    }
}

/// <summary>Keeps what loggers write.</summary>
internal sealed class MemoryLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(MemoryLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((category, logLevel, formatter(state, exception)));
    }
}

/// <summary>
/// The client on a real model, inside Microsoft.Extensions.AI's OpenTelemetry and logging middleware, as an app would use
/// it: spans and logs, streaming with usage, stop sequences across tokens, long seeds, the deadline, DI.
/// </summary>
public sealed class TimeBillChatClientModelTests(ChatModelFixture fixture) : IClassFixture<ChatModelFixture>
{
    private static readonly ChatMessage[] Story = [new(ChatRole.User, "Once upon a time")];
    private static readonly TimeSpan Ample = TimeSpan.FromSeconds(60);

    private TimeBillChatClient Client(TimeBillChatClientOptions? options = null) => new(fixture.Generator, options);

    [Fact]
    public async Task SpansAndLogsComeOutOfTheStandardMiddleware()
    {
        string source = "TimeBill.Tests.Chat." + Guid.NewGuid().ToString("N");
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var logs = new MemoryLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        using var inner = Client(new TimeBillChatClientOptions { LoggerFactory = loggerFactory });
        using var client = new ChatClientBuilder(inner).UseOpenTelemetry(sourceName: source).UseLogging(loggerFactory).Build();

        var response = await client.GetResponseAsync(Story, new ChatOptions { MaxOutputTokens = 8 }.WithTimeBudget(Ample));
        var streamed = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Story, new ChatOptions { MaxOutputTokens = 8 }.WithTimeBudget(Ample)))
            streamed.Add(update);

        Assert.Equal(2, spans.Count);
        foreach (var span in spans)
        {
            Assert.Equal("chat stories260K", span.DisplayName);
            Assert.Equal("chat", span.GetTagItem("gen_ai.operation.name"));
            Assert.Equal("stories260K", span.GetTagItem("gen_ai.request.model"));
            Assert.Equal("stories260K", span.GetTagItem("gen_ai.response.model"));
            Assert.Equal(response.Usage!.InputTokenCount, Convert.ToInt64(span.GetTagItem("gen_ai.usage.input_tokens")));
            Assert.Equal(8L, Convert.ToInt64(span.GetTagItem("gen_ai.usage.output_tokens")));
            Assert.Equal("TimeBill", span.GetTagItem("gen_ai.provider.name"));
            Assert.Equal("""["length"]""", span.GetTagItem("gen_ai.response.finish_reasons"));
            Assert.NotNull(span.GetTagItem("gen_ai.response.id"));
        }
        Assert.Equal(response.ResponseId, spans.First().GetTagItem("gen_ai.response.id"));
        Assert.Equal(streamed[0].ResponseId, spans.Last().GetTagItem("gen_ai.response.id"));

        var entries = logs.Entries.ToArray();
        Assert.Contains(entries, e => e.Category.EndsWith("LoggingChatClient") && e.Message.Contains("GetResponseAsync"));
        Assert.Contains(entries, e => e.Category.EndsWith("LoggingChatClient") && e.Message.Contains("GetStreamingResponseAsync"));
        var mine = entries.Where(e => e.Category == typeof(TimeBillChatClient).FullName).ToArray();
        Assert.Equal(2, mine.Length);
        Assert.All(mine, e => Assert.Equal(LogLevel.Debug, e.Level));
        Assert.All(mine, e => Assert.Matches(@"budget 60000 ms \(Kill\), status Completed, α 0, .*prefill [0-9.]+ ms, decode [0-9.]+ ms, total [0-9.]+ ms", e.Message));
        Assert.Contains(response.ResponseId!, mine[0].Message);
    }

    [Fact]
    public async Task StreamingMatchesTheResponseAndEndsWithUsage()
    {
        using var client = Client();
        var options = new ChatOptions { MaxOutputTokens = 24 }.WithTimeBudget(Ample);
        var response = await client.GetResponseAsync(Story, options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Story, options)) updates.Add(update);

        Assert.Equal(response.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.True(updates.Count > 2);
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        var usage = Assert.IsType<UsageContent>(Assert.Single(updates[^1].Contents)).Details;
        Assert.Equal((response.Usage!.InputTokenCount, response.Usage.OutputTokenCount, response.Usage.TotalTokenCount),
            (usage.InputTokenCount, usage.OutputTokenCount, usage.TotalTokenCount));
        Assert.Equal(response.FinishReason, updates[^1].FinishReason);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(24L, usage.OutputTokenCount);
    }

    [Fact]
    public async Task AStopSequenceAcrossTokensEndsTheTextBeforeIt()
    {
        using var client = Client();
        var plain = new ChatOptions { MaxOutputTokens = 40 }.WithTimeBudget(Ample);
        var pieces = new List<string>();
        await foreach (var update in client.GetStreamingResponseAsync(Story, plain))
            if (update.Text.Length > 0) pieces.Add(update.Text);
        string full = string.Concat(pieces);

        // Two whole tokens from the middle of the greedy continuation, so the stop string spans a token boundary.
        int offset = 0, chosen = -1;
        for (int i = 0; i + 1 < pieces.Count; offset += pieces[i].Length, i++)
            if (i >= 3 && pieces[i].Length >= 2 && full.IndexOf(pieces[i] + pieces[i + 1], StringComparison.Ordinal) == offset)
            {
                chosen = i;
                break;
            }
        Assert.True(chosen >= 0, $"no stop string found in '{full}'");
        string stop = pieces[chosen] + pieces[chosen + 1];

        var withStop = new ChatOptions { MaxOutputTokens = 40, StopSequences = [stop] }.WithTimeBudget(Ample);
        var response = await client.GetResponseAsync(Story, withStop);
        Assert.Equal(full[..offset], response.Text);
        Assert.DoesNotContain(stop, response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);

        var streamed = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Story, withStop)) streamed.Add(update);
        Assert.Equal(full[..offset], string.Concat(streamed.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.Stop, streamed[^1].FinishReason);
    }

    [Fact]
    public async Task ALongSeedReproducesAndAnotherDiffers()
    {
        using var client = Client();
        const long seed = 5_000_000_000L; // above int.MaxValue
        ChatOptions Sampled(long s) => new ChatOptions { MaxOutputTokens = 40, Temperature = 1f, Seed = s }.WithTimeBudget(Ample);
        string first = (await client.GetResponseAsync(Story, Sampled(seed))).Text;
        string again = (await client.GetResponseAsync(Story, Sampled(seed))).Text;
        string other = (await client.GetResponseAsync(Story, Sampled(seed + (1L << 32)))).Text; // equal low 32 bits
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public async Task ATinyBudgetUnderKillFinishesWithDeadline()
    {
        using var client = Client();
        var options = new ChatOptions { MaxOutputTokens = 40 }.WithTimeBudget(TimeSpan.FromMilliseconds(1)).WithOverrun(OverrunStrategy.Kill);
        var response = await client.GetResponseAsync(Story, options);
        Assert.Equal(TimeBillChatClient.Deadline, response.FinishReason);
        Assert.Equal("deadline", response.FinishReason!.Value.Value);
        Assert.NotEqual("Completed", response.AdditionalProperties![TimeBillChatClient.StatusKey]);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Story, options)) updates.Add(update);
        Assert.Equal(TimeBillChatClient.Deadline, updates[^1].FinishReason);
    }

    [Fact]
    public void ModelIdAndMetadataComeFromTheModel()
    {
        using var client = Client();
        Assert.Equal("stories260K", client.ModelId);
        Assert.Equal("stories260K", client.GetService<ChatClientMetadata>()!.DefaultModelId);
        Assert.Same(fixture.Generator, client.GetService<BudgetedGenerator>());
    }

    [Fact]
    public async Task DependencyInjectionBuildsTheClientFromTheFolderWithTheContainersLogging()
    {
        string folder = SharedAssets.Model("stories260K");
        string profilePath = Path.Combine(Path.GetTempPath(), $"timebill-chat-{Guid.NewGuid():N}.profile.json");
        try
        {
            // A profile keyed to stories260K on this machine (timings from a fake target: only the key is checked).
            var clock = new ManualClock();
            var measured = new ExecutionTimeProfiler(clock).Run(new FakeProfilingTarget(clock), new ExecutionTimeProfilerOptions
            {
                MaxPromptLength = 256, PrefillGridPoints = 8, KvGridPoints = 5, LayerGridPoints = 2,
                PrefillRepetitions = 2, DecodeRepetitions = 2, WarmUpRounds = 0,
            });
            var identity = ModelProfilingTarget.IdentityOf(ModelConfig.Load(Path.Combine(folder, "config.json")));
            (measured with { Key = new ProfileKey(identity, "float32", 2, MachineDescription.Current()) }).Save(profilePath);

            var logs = new MemoryLoggerProvider();
            var services = new ServiceCollection()
                .AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug))
                .AddTimeBillChatClient(folder, o => { o.ProfilePath = profilePath; o.DefaultBudget = Ample; o.DefaultMaxOutputTokens = 6; });
            using (var provider = services.BuildServiceProvider())
            {
                var client = provider.GetRequiredService<IChatClient>();
                Assert.Same(provider.GetRequiredService<TimeBillChatClient>(), client);
                Assert.Equal("stories260K", client.GetService<ChatClientMetadata>()!.DefaultModelId);
                var response = await client.GetResponseAsync(Story);
                Assert.Equal(6L, response.Usage!.OutputTokenCount);
                Assert.Contains(logs.Entries, e => e.Category == typeof(TimeBillChatClient).FullName && e.Message.Contains(response.ResponseId!));
            }
        }
        finally
        {
            File.Delete(profilePath);
        }
    }
}
