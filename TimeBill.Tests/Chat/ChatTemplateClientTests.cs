using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using TimeBill.Core.Budget;
using TimeBill.Core.Cache;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Predictors.Chat;
using TimeBill.Tests.Support;
using TimeBill.Tests.Tokenization;

namespace TimeBill.Tests.Chat;

/// <summary>The chat client renders conversations with the model's own template, gives it tools, and reads tool calls back.</summary>
public sealed class ChatTemplateClientTests
{
    /// <summary>Answers each request with the next scripted text, recording the requests.</summary>
    private sealed class ScriptedGenerator(params string[] answers) : IBudgetedGenerator
    {
        private int _next;
        public List<BudgetedRequest> Requests { get; } = [];

        private BudgetedResult Answer(BudgetedRequest request)
        {
            Requests.Add(request);
            return new BudgetedResult
            {
                Status = BudgetStatus.Completed, Text = answers[Math.Min(_next++, answers.Length - 1)], Ids = [1], PromptIds = request.PromptIds ?? [1],
                StopReason = StopReason.StopToken, Budget = request.Budget,
            };
        }

        public Task<BudgetedResult> GenerateAsync(BudgetedRequest request, CancellationToken cancellationToken = default) => Task.FromResult(Answer(request));

        public async IAsyncEnumerable<BudgetedStreamItem> StreamAsync(BudgetedRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var result = Answer(request);
            await Task.Yield();
            for (int i = 0; i < result.Text.Length; i += 3) // three characters a token, so markers arrive split
                yield return new BudgetedStreamItem(new GeneratedToken(0, result.Text[i..Math.Min(i + 3, result.Text.Length)], i / 3), null);
            yield return new BudgetedStreamItem(default, result);
        }
    }

    private static TimeBillChatClient Client(IBudgetedGenerator generator, string model) =>
        new(generator, new TimeBillChatClientOptions { Tokenizer = SharedTokenizers.Get(model) }, "test");

    public static TheoryData<string, string> PlainCases()
    {
        var data = new TheoryData<string, string>();
        foreach (string model in new[] { "qwen3", "llama31" })
            foreach (var item in SharedAssets.Reference($"chat-{model}").GetProperty("cases").EnumerateArray())
            {
                bool generationPrompt = item.GetProperty("kwargs").TryGetProperty("add_generation_prompt", out var g) && g.GetBoolean();
                bool plain = item.GetProperty("messages").EnumerateArray().All(m => m.EnumerateObject().All(p => p.Name is "role" or "content"));
                if (generationPrompt && plain) data.Add(model, item.GetProperty("id").GetString()!);
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(PlainCases))]
    public async Task AConversationBecomesTheReferenceRenderingsIds(string model, string id)
    {
        var item = SharedAssets.Reference($"chat-{model}").GetProperty("cases").EnumerateArray().First(c => c.GetProperty("id").GetString() == id);
        var messages = item.GetProperty("messages").EnumerateArray()
            .Select(m => new ChatMessage(new ChatRole(m.GetProperty("role").GetString()!), m.GetProperty("content").GetString())).ToList();
        var options = new ChatOptions();
        foreach (var kwarg in item.GetProperty("kwargs").EnumerateObject())
            if (kwarg.Name is not ("add_generation_prompt" or "tools")) options.WithTemplateVariable(kwarg.Name, kwarg.Value);
        if (item.GetProperty("kwargs").TryGetProperty("tools", out var tools))
            options.Tools = [.. tools.EnumerateArray().Select(Declaration)];

        var generator = new ScriptedGenerator("ok");
        using var client = Client(generator, $"tiny-random-{model}");
        await client.GetResponseAsync(messages, options);

        Assert.Null(generator.Requests[0].Prompt);
        Assert.Equal(item.Ints("ids"), generator.Requests[0].PromptIds);
    }

    /// <summary>Qwen3's tool case built from Microsoft.Extensions.AI's own content types: a function call and its result.</summary>
    [Fact]
    public async Task FunctionCallsAndResultsRenderAsTheReferenceToolConversation()
    {
        var item = SharedAssets.Reference("chat-qwen3").GetProperty("cases").EnumerateArray().First(c => c.GetProperty("id").GetString() == "tools_move_arm");
        var arguments = new Dictionary<string, object?> { ["x"] = 0.1, ["y"] = -0.25, ["z"] = 0.5 };
        List<ChatMessage> messages =
        [
            new(ChatRole.System, "You are a concise assistant for a robotics lab."),
            new(ChatRole.User, "Move the arm to x=0.1, y=-0.25, z=0.5."),
            new(ChatRole.Assistant, [new FunctionCallContent("call-1", "move_arm", arguments)]),
            new(ChatRole.Tool, [new FunctionResultContent("call-1", """{"ok": true, "position": [0.1, -0.25, 0.5]}""")]),
        ];
        var options = new ChatOptions { Tools = [.. item.GetProperty("kwargs").GetProperty("tools").EnumerateArray().Select(Declaration)] };

        var generator = new ScriptedGenerator("ok");
        using var client = Client(generator, "tiny-random-qwen3");
        await client.GetResponseAsync(messages, options);
        Assert.Equal(item.Ints("ids"), generator.Requests[0].PromptIds);
    }

    [Fact]
    public async Task AToolCallInTheAnswerComesBackAsFunctionCallContent()
    {
        const string answer = "Sure.\n<tool_call>\n{\"name\": \"move_arm\", \"arguments\": {\"x\": 0.1, \"y\": -0.25, \"z\": 0.5}}\n</tool_call>";
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create((double x, double y, double z) => "ok", "move_arm")] };
        using var client = Client(new ScriptedGenerator(answer), "tiny-random-qwen3");

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "move")], options);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("move_arm", call.Name);
        Assert.Equal(-0.25, ((JsonElement)call.Arguments!["y"]!).GetDouble());
        Assert.Equal("Sure.", response.Text.Trim());

        var updates = await client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "move")], options).ToListAsync();
        string streamed = string.Concat(updates.SelectMany(u => u.Contents).OfType<TextContent>().Select(t => t.Text));
        Assert.DoesNotContain("<tool", streamed); // the call's text was held back, not streamed
        Assert.Equal("Sure.", streamed.Trim());
        Assert.Single(updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>());
        Assert.Equal(ChatFinishReason.ToolCalls, updates[^1].FinishReason);
    }

    [Fact]
    public async Task FunctionInvocationMiddlewareRunsTheToolAndSendsItsResultBack()
    {
        var moves = new List<(double X, double Y, double Z)>();
        var tool = AIFunctionFactory.Create((double x, double y, double z) => { moves.Add((x, y, z)); return new { ok = true }; }, "move_arm", "Move the arm.");
        var generator = new ScriptedGenerator(
            "<tool_call>\n{\"name\": \"move_arm\", \"arguments\": {\"x\": 0.1, \"y\": -0.25, \"z\": 0.5}}\n</tool_call>",
            "Done: the arm is at (0.1, -0.25, 0.5).");
        using var client = new ChatClientBuilder(Client(generator, "tiny-random-qwen3")).UseFunctionInvocation().Build();

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Move the arm to x=0.1, y=-0.25, z=0.5.")], new ChatOptions { Tools = [tool] });

        Assert.Equal([(0.1, -0.25, 0.5)], moves);
        Assert.Equal("Done: the arm is at (0.1, -0.25, 0.5).", response.Text);
        Assert.Equal(2, generator.Requests.Count);
        // The second prompt holds the call and the tool's result, rendered by the template as a tool response.
        string second = SharedTokenizers.Get("tiny-random-qwen3").Decode(generator.Requests[1].PromptIds!, skipSpecialTokens: false);
        Assert.True(second.Contains("<tool_response>\n{\"ok\":true}\n</tool_response>"), second);
        Assert.Contains("\"name\": \"move_arm\"", second);
    }

    [Fact]
    public async Task WithoutATemplateToolsAndTemplateVariablesAreRefused()
    {
        using var client = new TimeBillChatClient(new ScriptedGenerator("ok"));
        var tools = new ChatOptions { Tools = [AIFunctionFactory.Create(() => 1, "one")] };
        Assert.Contains("no chat template", (await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "x")], tools))).Message);
        var variables = new ChatOptions().WithTemplateVariable("enable_thinking", false);
        Assert.Contains("enable_thinking", (await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "x")], variables))).Message);
    }

    /// <summary>The real Qwen3 folder (random weights): the client's greedy answer is the one its rendered ids give directly.</summary>
    [Fact]
    public async Task OnTheModelTheClientsAnswerIsTheAnswerToTheRenderedIds()
    {
        var item = SharedAssets.Reference("chat-qwen3").GetProperty("cases")[0];
        using var model = CausalLanguageModel.Load(SharedAssets.Model("tiny-random-qwen3"));
        using var generator = new BudgetedGenerator(model, SharedTokenizers.Get("tiny-random-qwen3"), ChatModelFixture.Estimator);
        using var client = new TimeBillChatClient(generator);
        var options = new ChatOptions { MaxOutputTokens = 8 }.WithTimeBudget(TimeSpan.FromMinutes(1));

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, item.GetProperty("messages")[0].GetProperty("content").GetString())], options);
        var direct = await generator.GenerateAsync(new BudgetedRequest { PromptIds = item.Ints("ids"), Budget = TimeSpan.FromMinutes(1), MaxNewTokens = 8 });

        Assert.Equal(item.Ints("ids").Length, response.Usage!.InputTokenCount);
        Assert.Equal(direct.Text, response.Text);
    }

    /// <summary>The second turn's rendering starts with the first turn's prompt, so its prefill starts from the first turn's cache.</summary>
    [Fact]
    public async Task TheNextTurnReusesThePreviousTurnsRenderedPrefix()
    {
        using var model = CausalLanguageModel.Load(SharedAssets.Model("tiny-random-qwen3"));
        using var generator = new BudgetedGenerator(model, SharedTokenizers.Get("tiny-random-qwen3"), ChatModelFixture.Estimator);
        using var client = new TimeBillChatClient(generator);
        var options = new ChatOptions { MaxOutputTokens = 6 }.WithTimeBudget(TimeSpan.FromMinutes(1)).WithTemplateVariable("enable_thinking", false);
        List<ChatMessage> conversation =
        [
            new(ChatRole.System, "You control a robot arm in a work cell with a red, a green and a blue block on the table. Answer with one short command."),
            new(ChatRole.User, "Where is the red block?"),
        ];
        var first = await client.GetResponseAsync(conversation, options);
        conversation.AddRange(first.Messages);
        conversation.Add(new ChatMessage(ChatRole.User, "Move it to the left."));
        var second = await client.GetResponseAsync(conversation, options);

        Assert.Equal(0, first.Usage!.CachedInputTokenCount);
        Assert.True(second.Usage!.CachedInputTokenCount >= first.Usage.InputTokenCount / PrefixCache.BlockTokens * PrefixCache.BlockTokens - PrefixCache.BlockTokens,
            $"{second.Usage.CachedInputTokenCount} of the first turn's {first.Usage.InputTokenCount} prompt tokens were reused");
    }

    private static AIFunctionDeclaration Declaration(JsonElement spec)
    {
        var function = spec.GetProperty("function");
        return AIFunctionFactory.CreateDeclaration(function.GetProperty("name").GetString()!, function.GetProperty("description").GetString(), function.GetProperty("parameters").Clone());
    }
}
