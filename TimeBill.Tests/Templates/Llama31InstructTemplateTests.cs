using System.Text.Json.Nodes;
using TimeBill.Core.ChatTemplates;
using TimeBill.Templates;

namespace TimeBill.Tests.Templates;

/// <summary>
/// The official Llama 3.1 Instruct chat template (Fixtures/llama31-instruct.jinja, written from its published form:
/// "Cutting Knowledge Date", "Today Date" from <c>strftime_now</c>, tools in the first user message or the system
/// message, builtin tools with <c>&lt;|python_tag|&gt;</c>, the ipython role) exercises what real templates use:
/// <c>{#- #}</c> comments, <c>-}}</c>, <c>messages[1:]</c>, <c>trim</c>, <c>reject('equalto', ...)</c>, <c>join</c>,
/// <c>items</c> with tuple unpacking, <c>tojson(indent=4)</c>, the tests <c>mapping</c> and <c>iterable</c>,
/// <c>raise_exception</c>. The expected renderings are derived by hand from the template, line by line.
/// </summary>
public sealed class Llama31InstructTemplateTests
{
    private const string Header = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n";
    private const string Knowledge = "Cutting Knowledge Date: December 2023\n";
    private const string UserHeader = "<|start_header_id|>user<|end_header_id|>\n\n";
    private const string AssistantHeader = "<|start_header_id|>assistant<|end_header_id|>\n\n";
    private const string IpythonHeader = "<|start_header_id|>ipython<|end_header_id|>\n\n";
    private const string Format = "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.";

    /// <summary>get_weather as tojson(indent=4) writes it: Python's indented layout, key order kept.</summary>
    private const string WeatherToolIndented = """
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather now",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {
                            "type": "string"
                        }
                    },
                    "required": [
                        "city"
                    ]
                }
            }
        }
        """;

    private static readonly ChatTemplate Template = new(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Templates", "Fixtures", "llama31-instruct.jinja")),
        new Dictionary<string, string> { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|eot_id|>" },
        "llama31-instruct.jinja",
        new FixedClock(new DateTime(2024, 7, 26, 9, 30, 0)));

    private static JsonArray WeatherTool() => new(JsonNode.Parse("""
        {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
        """));

    [Fact]
    public void SystemMessageAndTodaysDateFromTheClock()
    {
        string text = Template.Render(
            [new ChatTemplateMessage("system", "  You are helpful.\n"), new ChatTemplateMessage("user", "Hi!")],
            new ChatTemplateOptions { AddGenerationPrompt = true });

        Assert.Equal(Header + Knowledge + "Today Date: 26 Jul 2024\n\n" + "You are helpful.<|eot_id|>"
            + UserHeader + "Hi!<|eot_id|>" + AssistantHeader, text);
    }

    [Fact]
    public void ToolsGoInTheFirstUserMessageAndToolCallsBecomeJson()
    {
        string text = Template.Render(
        [
            new ChatTemplateMessage("user", "Weather in Paris?"),
            new ChatTemplateMessage("assistant", null) { ToolCalls = [new ChatTemplateToolCall("get_weather", new JsonObject { ["city"] = "Paris" })] },
            ChatTemplateMessage.ToolResult("{\"temp\": 21}"),
        ], new ChatTemplateOptions
        {
            AddGenerationPrompt = true,
            Tools = WeatherTool(),
            Variables = new Dictionary<string, object?> { ["date_string"] = "02 Dec 2025" },
        });

        Assert.Equal(Header + "Environment: ipython\n" + Knowledge + "Today Date: 02 Dec 2025\n\n" + "<|eot_id|>"
            + UserHeader + "Given the following functions, please respond with a JSON for a function call "
            + "with its proper arguments that best answers the given prompt.\n\n" + Format + "Do not use variables.\n\n"
            + WeatherToolIndented + "\n\n" + "Weather in Paris?<|eot_id|>"
            + AssistantHeader + "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|>"
            // a string is iterable, so the template writes a tool result through tojson, quoted
            + IpythonHeader + "\"{\\\"temp\\\": 21}\"<|eot_id|>"
            + AssistantHeader, text);
    }

    [Fact]
    public void ToolsInTheSystemMessageWhenAsked()
    {
        string text = Template.Render(
            [new ChatTemplateMessage("system", "Be brief."), new ChatTemplateMessage("user", "Weather?")],
            new ChatTemplateOptions { Tools = WeatherTool(), Variables = new Dictionary<string, object?> { ["tools_in_user_message"] = false } });

        Assert.Equal(Header + "Environment: ipython\n" + Knowledge + "Today Date: 26 Jul 2024\n\n"
            + "You have access to the following functions. To call a function, please respond with JSON for a function call."
            + Format + "Do not use variables.\n\n" + WeatherToolIndented + "\n\n" + "Be brief.<|eot_id|>"
            + UserHeader + "Weather?<|eot_id|>", text);
    }

    [Fact]
    public void BuiltinToolCallsUseThePythonTagAndIpythonResultsTheirJson()
    {
        var messages = JsonNode.Parse("""
            [{"role": "user", "content": "Search the news"},
             {"role": "assistant", "tool_calls": [{"function": {"name": "brave_search", "arguments": {"query": "news", "count": "3"}}}]},
             {"role": "ipython", "content": {"result": "ok"}}]
            """)!.AsArray();
        string text = Template.Render(messages, new ChatTemplateOptions
        {
            Variables = new Dictionary<string, object?> { ["builtin_tools"] = new[] { "brave_search", "code_interpreter" } },
        });

        Assert.Equal(Header + "Environment: ipython\n" + "Tools: brave_search\n\n" + Knowledge + "Today Date: 26 Jul 2024\n\n" + "<|eot_id|>"
            + UserHeader + "Search the news<|eot_id|>"
            + AssistantHeader + "<|python_tag|>brave_search.call(query=\"news\", count=\"3\")<|eom_id|>"
            + IpythonHeader + "{\"result\": \"ok\"}<|eot_id|>", text);
    }

    [Fact]
    public void TheTemplateRefusesWhatItCannotFormat()
    {
        var twoCalls = new ChatTemplateMessage("assistant", "")
        {
            ToolCalls = [new ChatTemplateToolCall("a", new JsonObject()), new ChatTemplateToolCall("b", "{}")],
        };
        var error = Assert.Throws<TemplateRaisedException>(() => Template.Render([new ChatTemplateMessage("user", "go"), twoCalls]));
        Assert.Equal("This model only supports single tool-calls at once!", error.TemplateMessage);
        Assert.Equal(75, error.Line);

        error = Assert.Throws<TemplateRaisedException>(() => Template.Render([new ChatTemplateMessage("system", "s")], new ChatTemplateOptions { Tools = WeatherTool() }));
        Assert.Equal("Cannot put tools in the first user message when there's no first user message!", error.TemplateMessage);
    }
}
