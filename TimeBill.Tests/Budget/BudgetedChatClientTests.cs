using Microsoft.Extensions.AI;
using TimeBill.Core.Budget;
using TimeBill.Predictors.Budget;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Budget;

/// <summary>The IChatClient adapter maps ChatOptions onto budgeted requests; the builder insists on a profile.</summary>
public sealed class BudgetedChatClientTests
{
    private sealed class RecordingGenerator : IBudgetedGenerator
    {
        public BudgetedRequest? Last { get; private set; }

        public Task<BudgetedResult> GenerateAsync(BudgetedRequest request, CancellationToken cancellationToken = default)
        {
            Last = request;
            return Task.FromResult(new BudgetedResult { Status = BudgetStatus.Completed, Text = "ok", Ids = [5], PromptIds = [1, 2], StopReason = Core.Generation.StopReason.StopToken });
        }

        public IAsyncEnumerable<BudgetedStreamItem> StreamAsync(BudgetedRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    [Fact]
    public async Task BudgetOverrunAndSamplingComeFromChatOptions()
    {
        var generator = new RecordingGenerator();
        using var client = new BudgetedChatClient(generator, TimeSpan.FromSeconds(1));
        var options = new ChatOptions
        {
            MaxOutputTokens = 40, Temperature = 0.7f, TopP = 0.9f, Seed = 3,
            AdditionalProperties = new() { [BudgetedChatClient.BudgetProperty] = 250.0, [BudgetedChatClient.OverrunProperty] = "skip-next" },
        };
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.System, "Tell a story."), new ChatMessage(ChatRole.User, "Once upon a time")], options);

        var request = generator.Last!;
        Assert.Equal(TimeSpan.FromMilliseconds(250), request.Budget);
        Assert.Equal(OverrunStrategy.SkipNext, request.Overrun);
        Assert.Equal((40, 0.7f, 0.9f, 3), (request.MaxNewTokens, request.Sampling.Temperature, request.Sampling.TopP, request.Sampling.Seed!.Value));
        Assert.Equal("Tell a story.\nOnce upon a time", request.Prompt);
        Assert.Equal("ok", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("Completed", response.AdditionalProperties!["timebill.status"]);
    }

    [Fact]
    public async Task DefaultBudgetAppliesAndBadValuesAreRejected()
    {
        var generator = new RecordingGenerator();
        using var client = new BudgetedChatClient(generator, TimeSpan.FromMilliseconds(800));
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]);
        Assert.Equal(TimeSpan.FromMilliseconds(800), generator.Last!.Budget);

        var bad = new ChatOptions { AdditionalProperties = new() { [BudgetedChatClient.OverrunProperty] = "later" } };
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], bad));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BudgetedChatClient(generator, TimeSpan.Zero));
    }

    [Fact]
    public void BuilderWithoutAProfileSaysWhatIsMissing()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new BudgetedGeneratorBuilder(SharedAssets.Model("stories260K")).Build());
        Assert.Contains("WithProfile", error.Message);
    }
}
