using System.Text.Json;
using System.Text.Json.Nodes;
using TimeBill.Core.ChatTemplates;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Templates;

/// <summary>
/// The chat templates of the Qwen3 and Llama 3.1 tokenizer folders render every reference conversation byte for byte
/// as transformers' <c>apply_chat_template</c> did, from the JSON messages and from typed messages alike.
/// </summary>
public sealed class ChatTemplateReferenceTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string reference in new[] { "chat-qwen3", "chat-llama31" })
            foreach (JsonElement item in SharedAssets.Reference(reference).GetProperty("cases").EnumerateArray())
                data.Add(reference, item.GetProperty("id").GetString()!);
        return data;
    }

    private static (ChatTemplate Template, JsonElement Case) Load(string reference, string id)
    {
        JsonElement root = SharedAssets.Reference(reference);
        var template = ChatTemplate.Load(SharedAssets.Model(root.GetProperty("tokenizer").GetString()!));
        return (template, root.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id));
    }

    /// <summary>The reference's <c>kwargs</c>: <c>add_generation_prompt</c>, <c>tools</c> and <c>documents</c> as options, the rest as variables.</summary>
    private static ChatTemplateOptions Options(JsonElement kwargs)
    {
        var variables = new Dictionary<string, object?>();
        bool generationPrompt = false;
        JsonArray? tools = null, documents = null;
        foreach (JsonProperty p in kwargs.EnumerateObject())
        {
            switch (p.Name)
            {
                case "add_generation_prompt": generationPrompt = p.Value.GetBoolean(); break;
                case "tools": tools = JsonArray.Create(p.Value); break;
                case "documents": documents = JsonArray.Create(p.Value); break;
                default: variables[p.Name] = p.Value; break;
            }
        }
        return new ChatTemplateOptions { AddGenerationPrompt = generationPrompt, Tools = tools, Documents = documents, Variables = variables };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void JsonMessagesRenderAsTheReference(string reference, string id)
    {
        var (template, item) = Load(reference, id);
        string text = template.Render(JsonArray.Create(item.GetProperty("messages"))!, Options(item.GetProperty("kwargs")));
        Assert.Equal(item.GetProperty("rendered").GetString(), text);
    }

    /// <summary>Conversations with fields <see cref="ChatTemplateMessage"/> does not have are left to the JSON test.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void TypedMessagesRenderAsTheReference(string reference, string id)
    {
        var (template, item) = Load(reference, id);
        var messages = item.GetProperty("messages").EnumerateArray().Select(Typed).ToList();
        if (messages.Any(m => m is null)) return;
        Assert.Equal(item.GetProperty("rendered").GetString(), template.Render(messages!, Options(item.GetProperty("kwargs"))));
    }

    private static readonly HashSet<string> TypedFields = ["role", "content", "reasoning_content", "tool_calls", "tool_call_id", "name"];

    /// <summary>The JSON message as a <see cref="ChatTemplateMessage"/>, or null if it has a field or shape that type cannot hold.</summary>
    private static ChatTemplateMessage? Typed(JsonElement m)
    {
        if (m.EnumerateObject().Any(p => !TypedFields.Contains(p.Name) || (p.Name != "content" && p.Value.ValueKind == JsonValueKind.Null))
            || !m.TryGetProperty("content", out var content) || content.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            return null;
        var calls = new List<ChatTemplateToolCall>();
        if (m.TryGetProperty("tool_calls", out var toolCalls))
            foreach (JsonElement call in toolCalls.EnumerateArray())
            {
                if (call.EnumerateObject().Any(p => p.Name is not ("type" or "function" or "id")) || !call.TryGetProperty("function", out var f)
                    || (call.TryGetProperty("type", out var type) && type.GetString() != "function")
                    || f.EnumerateObject().Any(p => p.Name is not ("name" or "arguments")))
                    return null;
                string name = f.GetProperty("name").GetString()!;
                string? callId = call.TryGetProperty("id", out var i) ? i.GetString() : null;
                JsonElement arguments = f.GetProperty("arguments");
                calls.Add(arguments.ValueKind == JsonValueKind.String
                    ? new ChatTemplateToolCall(name, arguments.GetString()!, callId)
                    : new ChatTemplateToolCall(name, JsonObject.Create(arguments)!, callId));
            }
        string? Text(string field) => m.TryGetProperty(field, out var v) ? v.GetString() : null;
        return new ChatTemplateMessage(m.GetProperty("role").GetString()!, content.GetString())
        {
            ReasoningContent = Text("reasoning_content"),
            ToolCallId = Text("tool_call_id"),
            Name = Text("name"),
            ToolCalls = toolCalls.ValueKind == JsonValueKind.Array ? calls : null,
        };
    }

    [Theory]
    [InlineData("chat-qwen3")]
    [InlineData("chat-llama31")]
    public void SpecialTokensAreTheReferencesTemplateGlobals(string reference)
    {
        JsonElement root = SharedAssets.Reference(reference);
        var template = ChatTemplate.Load(SharedAssets.Model(root.GetProperty("tokenizer").GetString()!));
        var expected = root.GetProperty("template_globals").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(expected.OrderBy(p => p.Key), template.SpecialTokens.OrderBy(p => p.Key));
    }
}
