using SchemaCheck = TimeBill.Cli.Evaluation.SchemaCheck;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using TimeBill.Core.Budget;
using TimeBill.Predictors.Chat;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Chat;

/// <summary>ChatOptions.ResponseFormat JSON and JSON-with-schema become constraints of the request, and the answers parse.</summary>
[Collection(ModelCollection.Name)]
public sealed class ResponseFormatTests(ModelFixture models)
{
    private const string Schema = """{"type":"object","properties":{"hero":{"type":"string"},"age":{"type":"integer","minimum":1,"maximum":99}},"required":["hero","age"]}""";

    private sealed class RecordingGenerator : IBudgetedGenerator
    {
        public BudgetedRequest? Last { get; private set; }

        public Task<BudgetedResult> GenerateAsync(BudgetedRequest request, CancellationToken cancellationToken = default)
        {
            Last = request;
            return Task.FromResult(new BudgetedResult { Status = BudgetStatus.Completed, Text = "{}" });
        }

        public async IAsyncEnumerable<BudgetedStreamItem> StreamAsync(BudgetedRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Last = request;
            await Task.Yield();
            yield break;
        }
    }

    private static readonly ChatMessage[] Hi = [new(ChatRole.User, "hi")];

    [Fact]
    public async Task JsonFormatsBecomeConstraintsAndASchemaIsCompiledOnce()
    {
        var generator = new RecordingGenerator();
        using var client = new TimeBillChatClient(generator);
        await client.GetResponseAsync(Hi, new ChatOptions { ResponseFormat = ChatResponseFormat.Text });
        Assert.Null(generator.Last!.Constraint);
        await client.GetResponseAsync(Hi, new ChatOptions { ResponseFormat = ChatResponseFormat.Json });
        Assert.StartsWith("JSON object", generator.Last!.Constraint!.Description);
        var format = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(Schema).RootElement, "hero");
        await client.GetResponseAsync(Hi, new ChatOptions { ResponseFormat = format });
        var first = generator.Last!.Constraint;
        Assert.True(first!.Automaton.Accepts("""{"hero":"Tim","age":7}"""u8));
        await client.GetResponseAsync(Hi, new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(Schema).RootElement, "hero") });
        Assert.Same(first, generator.Last!.Constraint);
    }

    [Fact]
    public async Task JsonWithToolsIsNotSupported()
    {
        using var client = new TimeBillChatClient(new RecordingGenerator());
        var options = new ChatOptions { ResponseFormat = ChatResponseFormat.Json, Tools = [AIFunctionFactory.Create(() => 42, "answer")] };
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(Hi, options));
        Assert.Contains("ChatOptions.ResponseFormat", error.Message);
    }

    [Fact]
    public async Task AnUnsupportedSchemaKeywordIsNamedWithItsPath()
    {
        using var client = new TimeBillChatClient(new RecordingGenerator());
        var format = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse("""{"type":"object","properties":{"a":{"type":"string","format":"date"}}}""").RootElement);
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(Hi, new ChatOptions { ResponseFormat = format }));
        Assert.Contains("'format'", error.Message);
        Assert.Contains("$.properties.a.format", error.Message);
    }

    [Fact]
    public async Task Stories260KAnswersInTheSchema()
    {
        using var generator = new BudgetedGenerator(models.Get("stories260K"), models.StoriesTokenizer, ChatModelFixture.Estimator);
        using var client = new TimeBillChatClient(generator);
        using var schema = JsonDocument.Parse(Schema);
        var options = new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement, "hero"), MaxOutputTokens = 60, Temperature = 0.8f, Seed = 3 }
            .WithTimeBudget(TimeSpan.FromSeconds(30));
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], options);
        using var answer = JsonDocument.Parse(response.Text);
        Assert.Null(SchemaCheck.Problem(answer.RootElement, schema.RootElement));
    }
}
