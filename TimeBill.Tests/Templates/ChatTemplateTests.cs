using System.Text.Json.Nodes;
using TimeBill.Core.ChatTemplates;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Tokenization;
using TimeBill.Templates;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Templates;

/// <summary>
/// Loading chat templates from tokenizer_config.json (a string or named templates, special tokens in their three
/// spellings), choosing among named templates as transformers does, and the errors: a template that does not parse is a
/// ModelLoadException naming the file and the template line.
/// </summary>
public sealed class ChatTemplateTests
{
    private const string Echo = "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{% if add_generation_prompt %}>{% endif %}";

    private static string Folder(JsonObject config, string? chatTemplateJinja = null)
    {
        string folder = Directory.CreateTempSubdirectory("timebill-chat-").FullName;
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString());
        if (chatTemplateJinja is not null) File.WriteAllText(Path.Combine(folder, "chat_template.jinja"), chatTemplateJinja);
        return folder;
    }

    private static readonly ChatTemplateMessage[] Hello = [new("user", "hi")];

    [Fact]
    public void SpecialTokensMayBeStringsNullOrContentObjects()
    {
        var template = ChatTemplate.Load(Folder(new JsonObject
        {
            ["chat_template"] = "{{ bos_token }}|{{ eos_token }}|{{ unk_token is defined }}",
            ["bos_token"] = new JsonObject { ["__type"] = "AddedToken", ["content"] = "<s>", ["lstrip"] = false },
            ["eos_token"] = "</s>",
            ["unk_token"] = null,
        }));
        Assert.Equal("<s>|</s>|False", template.Render(Hello));
        Assert.Equal(new Dictionary<string, string> { ["bos_token"] = "<s>", ["eos_token"] = "</s>" }, template.SpecialTokens);
    }

    [Fact]
    public void NamedTemplatesChooseToolUseWhenToolsAreGiven()
    {
        var template = ChatTemplate.Load(Folder(new JsonObject
        {
            ["chat_template"] = new JsonArray(
                new JsonObject { ["name"] = "default", ["template"] = "plain" },
                new JsonObject { ["name"] = "tool_use", ["template"] = "tools: {{ tools|length }}" },
                new JsonObject { ["name"] = "rag", ["template"] = "docs: {{ documents|map(attribute='title')|join(',') }}" }),
        }));
        Assert.Equal(["default", "tool_use", "rag"], template.Names);
        Assert.Equal("plain", template.Render(Hello));
        Assert.Equal("tools: 1", template.Render(Hello, new ChatTemplateOptions { Tools = [new JsonObject { ["type"] = "function" }] }));
        var documents = new ChatTemplateOptions { TemplateName = "rag", Documents = [new JsonObject { ["title"] = "a" }, new JsonObject { ["title"] = "b" }] };
        Assert.Equal("docs: a,b", template.Render(Hello, documents));
        Assert.Contains("'nope'", Assert.Throws<ArgumentException>(() => template.Render(Hello, new ChatTemplateOptions { TemplateName = "nope" })).Message);
    }

    [Fact]
    public void ToolsAndDocumentsAreNoneWhenAbsentAndVariablesPassThrough()
    {
        var template = new ChatTemplate("{{ tools is none }} {{ documents is none }} {{ add_generation_prompt }} {{ enable_thinking }} {{ extra.k }} {{ eos_token }}",
            new Dictionary<string, string> { ["eos_token"] = "<eos>" });
        var options = new ChatTemplateOptions
        {
            Variables = new Dictionary<string, object?> { ["enable_thinking"] = false, ["extra"] = new JsonObject { ["k"] = 1 }, ["eos_token"] = "<override>" },
        };
        Assert.Equal("True True False False 1 <override>", template.Render(Hello, options));
        var reserved = new ChatTemplateOptions { Variables = new Dictionary<string, object?> { ["messages"] = "x" } };
        Assert.Contains("'messages'", Assert.Throws<ArgumentException>(() => template.Render(Hello, reserved)).Message);
    }

    [Fact]
    public void TypedMessagesCarryToolCallsReasoningAndToolResults()
    {
        var template = new ChatTemplate("""
            {%- for m in messages -%}
            {{ m.role }}|{{ m.content }}|{{ m.reasoning_content is defined }}
            {%- for c in m.tool_calls or [] %}|{{ c.type }}:{{ c.function.name }}:{{ c.function.arguments is string }}:{{ c.function.arguments|tojson }}:{{ c.id }}{% endfor %}
            {%- if m.tool_call_id is defined %}|{{ m.tool_call_id }}:{{ m.name }}{% endif %};
            {% endfor -%}
            """);
        string text = template.Render(
        [
            new ChatTemplateMessage("assistant", null)
            {
                ReasoningContent = "think",
                ToolCalls = [new("move", new JsonObject { ["x"] = 0.5 }, "call-1"), new("stop", "{\"now\": true}")],
            },
            ChatTemplateMessage.ToolResult("ok", "call-1", "move"),
        ]);
        Assert.Equal("assistant|None|True|function:move:False:{\"x\": 0.5}:call-1|function:stop:True:\"{\\\"now\\\": true}\":;\n"
            + "tool|ok|False|call-1:move;\n", text);
    }

    [Fact]
    public void JsonMessagesPassEveryFieldToTheTemplate()
    {
        var template = new ChatTemplate("{% for m in messages %}{{ m.role }}={{ m.custom['n'] }}{% endfor %}");
        Assert.Equal("user=3", template.Render(JsonNode.Parse("""[{"role": "user", "content": "x", "custom": {"n": 3}}]""")!.AsArray()));
    }

    [Fact]
    public void ChatTemplateJinjaBesideTheConfigWins()
    {
        string folder = Folder(new JsonObject { ["chat_template"] = "from config", ["bos_token"] = "<s>" }, Echo);
        Assert.Equal("<s>[user:hi]>", ChatTemplate.Load(folder).Render(Hello, new ChatTemplateOptions { AddGenerationPrompt = true }));
    }

    [Fact]
    public void ATemplateThatDoesNotParseIsAModelLoadErrorNamingTheFileAndLine()
    {
        string folder = Folder(new JsonObject { ["chat_template"] = "{% for m in messages %}\n{% call m %}{% endcall %}{% endfor %}" });
        var error = Assert.Throws<ModelLoadException>(() => ChatTemplate.Load(folder));
        Assert.Equal(Path.Combine(folder, "tokenizer_config.json"), error.Path);
        Assert.Contains("line 2", error.Message);
        Assert.Contains("'{% call %}'", error.Message);
        Assert.IsType<TemplateSyntaxException>(error.InnerException);

        var fromText = Assert.Throws<ModelLoadException>(() => new ChatTemplate("{{ x | shuffle }}", source: "model.gguf: tokenizer.chat_template"));
        Assert.Equal("model.gguf: tokenizer.chat_template", fromText.Path);
        Assert.Contains("unknown filter 'shuffle'", fromText.Message);
    }

    [Theory]
    [InlineData("""{"bos_token": "<s>"}""", "there is no chat_template")]
    [InlineData("""{"chat_template": 5}""", "chat_template must be a string or a list")]
    [InlineData("""{"chat_template": [{"name": "default"}]}""", "'name' and 'template'")]
    [InlineData("""{"chat_template": "x", "eos_token": 5}""", "field 'eos_token'")]
    public void MalformedConfigsAreNamed(string config, string problem)
    {
        string folder = Folder(JsonNode.Parse(config)!.AsObject());
        var error = Assert.Throws<ModelLoadException>(() => ChatTemplate.Load(folder));
        Assert.Equal(Path.Combine(folder, "tokenizer_config.json"), error.Path);
        Assert.Contains(problem, error.Problem);
    }

    [Fact]
    public void RaiseExceptionAtRenderTimeCarriesTheTemplatesMessage()
    {
        var template = new ChatTemplate("{% if messages[0].role == 'assistant' %}{{ raise_exception('Conversation must start with a user message') }}{% endif %}");
        var error = Assert.Throws<TemplateRaisedException>(() => template.Render([new ChatTemplateMessage("assistant", "x")]));
        Assert.Equal("Conversation must start with a user message", error.TemplateMessage);
    }

    [Fact]
    public void RenderAndEncodeGivesTheTokenizersIdsOfTheText()
    {
        var tokenizer = TextTokenizer.Load(SharedAssets.Model("stories260K"));
        var prompt = new ChatTemplate(Echo).RenderAndEncode(tokenizer, [new ChatTemplateMessage("user", "Once upon a time")]);
        Assert.Equal("[user:Once upon a time]", prompt.Text);
        Assert.Equal(tokenizer.Encode(prompt.Text), prompt.Ids);
    }
}
