using SchemaCheck = TimeBill.Cli.Evaluation.SchemaCheck;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Microsoft.Extensions.AI;
using TimeBill.Core.Budget;
using TimeBill.Core.Planning;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Predictors.Chat;
using TimeBill.Tests.Support;
using TimeBill.Tests.Tokenization;

namespace TimeBill.Tests.Chat;

/// <summary>
/// Tools through the chat client with tiny-random-qwen3 (the real Qwen3 vocabulary and chat template, random weights):
/// the calls are constrained to the tools' parameter schemas, so they always parse and validate, also when a deadline
/// closes them, and Microsoft.Extensions.AI's function invocation runs the C# function with the parsed arguments.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class ToolCallConstraintTests(ModelFixture models)
{
    private sealed class Arm
    {
        public List<(double X, double Y, int Speed)> Moves { get; } = [];

        [Description("Move the arm's tool to (x, y) in metres.")]
        public string MoveArm([Range(-1.0, 1.0)] double x, [Range(-1.0, 1.0)] double y, [Range(1, 10)] int speed)
        {
            Moves.Add((x, y, speed));
            return "ok";
        }
    }

    private static readonly ChatMessage[] Ask = [new(ChatRole.User, "Move the arm to the red block.")];

    private BudgetedGenerator Generator() => new(models.Get("tiny-random-qwen3"), SharedTokenizers.Get("tiny-random-qwen3"), ChatModelFixture.Estimator);

    private static AIFunction MoveArm(Arm arm) => AIFunctionFactory.Create(arm.MoveArm, "move_arm");

    private static readonly AIFunction Say = AIFunctionFactory.Create(([Description("What to say.")] string text) => text, "say");

    private static void AssertValidCall(FunctionCallContent call, IEnumerable<AIFunction> tools)
    {
        var tool = tools.Single(t => t.Name == call.Name);
        var arguments = JsonSerializer.SerializeToElement(call.Arguments);
        Assert.True(SchemaCheck.Problem(arguments, tool.JsonSchema) is null,
            $"{call.Name}({arguments}): {SchemaCheck.Problem(arguments, tool.JsonSchema)}; schema {tool.JsonSchema}");
    }

    [Fact]
    public async Task RequireAnyGivesCallsWhoseArgumentsValidateOverManySeeds()
    {
        using var generator = Generator();
        using var client = new TimeBillChatClient(generator);
        var arm = new Arm();
        AIFunction[] tools = [MoveArm(arm), Say];
        for (int seed = 1; seed <= 12; seed++)
        {
            var options = new ChatOptions
            {
                Tools = [.. tools], ToolMode = ChatToolMode.RequireAny, AllowMultipleToolCalls = seed % 3 == 0 ? null : false,
                Temperature = 1, Seed = seed, MaxOutputTokens = 40,
            }.WithTimeBudget(TimeSpan.FromMinutes(1));
            var response = await client.GetResponseAsync(Ask, options);
            var contents = response.Messages.Single().Contents;
            Assert.All(contents, c => Assert.IsType<FunctionCallContent>(c));
            var calls = contents.OfType<FunctionCallContent>().ToList();
            Assert.NotEmpty(calls);
            if (options.AllowMultipleToolCalls == false) Assert.Single(calls);
            foreach (var call in calls) AssertValidCall(call, tools);
            Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        }
        Assert.Empty(arm.Moves); // nothing runs without the function-invocation middleware

        var only = new ChatOptions { Tools = [.. tools], ToolMode = ChatToolMode.RequireSpecific("say"), Temperature = 1, Seed = 5, MaxOutputTokens = 30 };
        var said = await client.GetResponseAsync(Ask, only.WithTimeBudget(TimeSpan.FromMinutes(1)));
        Assert.All(said.Messages.Single().Contents, c => Assert.Equal("say", Assert.IsType<FunctionCallContent>(c).Name));
    }

    [Fact]
    public async Task FunctionInvocationRunsTheCSharpFunctionWithTheParsedArguments()
    {
        using var generator = Generator();
        var arm = new Arm();
        var tool = MoveArm(arm);
        using var client = new ChatClientBuilder(new TimeBillChatClient(generator)).UseFunctionInvocation().Build();
        var options = new ChatOptions { Tools = [tool], ToolMode = ChatToolMode.RequireAny, AllowMultipleToolCalls = false, Temperature = 1, Seed = 11, MaxOutputTokens = 30 }
            .WithTimeBudget(TimeSpan.FromMinutes(1));

        var response = await client.GetResponseAsync(Ask, options);

        var call = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().First();
        AssertValidCall(call, [tool]);
        var arguments = JsonSerializer.SerializeToElement(call.Arguments);
        Assert.Equal((arguments.GetProperty("x").GetDouble(), arguments.GetProperty("y").GetDouble(), arguments.GetProperty("speed").GetInt32()), arm.Moves.First());
        var result = response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().First();
        Assert.Equal(call.CallId, result.CallId);
        Assert.Null(result.Exception);
    }

    [Fact]
    public async Task AutoLetsTheModelAnswerInTextAndConstrainsACallOnceItOpensOne()
    {
        using var generator = Generator();
        using var client = new TimeBillChatClient(generator);
        var arm = new Arm();
        AIFunction[] tools = [MoveArm(arm), Say];
        // A bias towards the opening tag makes the random model open a call at some point; from there it is constrained.
        int tag = SharedTokenizers.Get("tiny-random-qwen3").Encode(ToolCallParserOpen).Single();
        var options = new ChatOptions { Tools = [.. tools], Temperature = 1, Seed = 2, MaxOutputTokens = 40 }
            .WithLogitBias(new Dictionary<int, float> { [tag] = 12 }).WithTimeBudget(TimeSpan.FromMinutes(1));
        var response = await client.GetResponseAsync(Ask, options);
        var calls = response.Messages.Single().Contents.OfType<FunctionCallContent>().ToList();
        Assert.NotEmpty(calls);
        foreach (var call in calls) AssertValidCall(call, tools);
        Assert.DoesNotContain(ToolCallParserOpen, response.Text);

        // Without the bias the random model writes text, which comes back as text.
        var text = await client.GetResponseAsync(Ask, new ChatOptions { Tools = [.. tools], Temperature = 1, Seed = 2, MaxOutputTokens = 12 }.WithTimeBudget(TimeSpan.FromMinutes(1)));
        Assert.IsType<TextContent>(Assert.Single(text.Messages.Single().Contents));
    }

    private const string ToolCallParserOpen = TimeBill.Core.Constraints.ToolCallGrammar.Open;

    [Fact]
    public async Task AKilledJobClosesTheCallValidly()
    {
        using var generator = Generator();
        using var client = new TimeBillChatClient(generator);
        AIFunction[] tools = [Say];
        var options = new ChatOptions { Tools = [.. tools], ToolMode = ChatToolMode.RequireAny, AllowMultipleToolCalls = false, Temperature = 1, Seed = 1, MaxOutputTokens = 400 };
        // A first call (which lifts the constraint) and a generous run measure this machine's prefill and step; a generator
        // whose estimator says so then gets budgets that leave about 80 steps: room for the closing (about 20 tokens for
        // this tool) and for a slow step or two, and less than the random model's argument text usually takes.
        var measure = options.Clone();
        measure.MaxOutputTokens = 24;
        measure.WithTimeBudget(TimeSpan.FromMinutes(1)).WithOverrun(OverrunStrategy.Kill);
        await client.GetResponseAsync(Ask, measure);
        var generous = await client.GetResponseAsync(Ask, measure);
        double prefill = (double)generous.AdditionalProperties![TimeBillChatClient.PrefillMillisecondsKey]!;
        double step = (double)generous.AdditionalProperties[TimeBillChatClient.DecodeMillisecondsKey]! / Math.Max(1, generous.Usage!.OutputTokenCount!.Value);
        var measured = new ExecutionTimeEstimator(new ExecutionTimeCoefficients(new PrefillCost(0, 0, prefill), new DecodeStepCost(0, step), new LayeredDecodeStepCost(0, step / 5, 0, 5)));
        using var calibrated = new BudgetedGenerator(models.Get("tiny-random-qwen3"), SharedTokenizers.Get("tiny-random-qwen3"), measured);
        calibrated.WarmUp();
        using var tightClient = new TimeBillChatClient(calibrated);
        await tightClient.GetResponseAsync(Ask, measure); // its own first call lifts its constraint ahead of the deadlines
        int closed = 0;
        for (int seed = 1; seed <= 3; seed++)
        {
            var tight = options.Clone();
            tight.Seed = seed;
            var response = await tightClient.GetResponseAsync(Ask, tight.WithTimeBudget(TimeSpan.FromMilliseconds(3 * prefill + 80 * step)).WithOverrun(OverrunStrategy.Kill));
            var call = Assert.IsType<FunctionCallContent>(Assert.Single(response.Messages.Single().Contents));
            AssertValidCall(call, tools);
            if (response.AdditionalProperties!.ContainsKey(TimeBillChatClient.ClosedEarlyKey)) closed++;
        }
        Assert.True(closed > 0, "no job was closed early: the budget was not tight");
    }

    [Fact]
    public async Task AToolOutsideTheSubsetIsRefusedNamingTheToolAndTheKeyword()
    {
        using var generator = Generator();
        using var client = new TimeBillChatClient(generator);
        var schedule = AIFunctionFactory.CreateDeclaration("schedule", "Book a slot.",
            JsonDocument.Parse("""{"type":"object","properties":{"when":{"type":"string","pattern":"^[0-9]+$"}}}""").RootElement);
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(Ask, new ChatOptions { Tools = [Say, schedule], ToolMode = ChatToolMode.RequireAny }));
        Assert.Contains("ChatOptions.Tools", error.Message);
        Assert.Contains("tool 'schedule'", error.Message);
        Assert.Contains("'pattern'", error.Message);
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Ask, new ChatOptions { Tools = [Say], ToolMode = ChatToolMode.RequireSpecific("fly") }));
        Assert.Contains("'fly'", unknown.Message);
    }
}
