using System.Text.Json.Nodes;

namespace TimeBill.Core.ChatTemplates;

/// <summary>
/// One message of a conversation, as chat templates read it: <c>role</c>, <c>content</c>, and for an assistant
/// <c>tool_calls</c> and <c>reasoning_content</c>, for a tool result <c>tool_call_id</c> and <c>name</c>. Fields left
/// null are absent from the message the template sees (so <c>message.reasoning_content is defined</c> is false),
/// except <see cref="Content"/>, which is passed as none.
/// </summary>
/// <param name="Role">"system", "user", "assistant", "tool" (a tool result), or whatever role the template knows.</param>
/// <param name="Content">The text; null passes none (some templates expect it for a message with only tool calls).</param>
public sealed record ChatTemplateMessage(string Role, string? Content)
{
    /// <summary>The function calls an assistant message made.</summary>
    public IReadOnlyList<ChatTemplateToolCall>? ToolCalls { get; init; }

    /// <summary>An assistant's reasoning (the thinking), which templates such as Qwen3's place in <c>&lt;think&gt;</c> tags.</summary>
    public string? ReasoningContent { get; init; }

    /// <summary>For a tool result: the id of the call it answers.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>For a tool result: the name of the function that produced it.</summary>
    public string? Name { get; init; }

    /// <summary>A tool result (role "tool") answering the call <paramref name="toolCallId"/> of <paramref name="name"/>.</summary>
    public static ChatTemplateMessage ToolResult(string content, string? toolCallId = null, string? name = null) =>
        new("tool", content) { ToolCallId = toolCallId, Name = name };

    internal JsonObject ToJson()
    {
        ArgumentException.ThrowIfNullOrEmpty(Role);
        var message = new JsonObject { ["role"] = Role, ["content"] = Content };
        if (ToolCalls is not null) message["tool_calls"] = new JsonArray([.. ToolCalls.Select(c => (JsonNode)c.ToJson())]);
        if (ReasoningContent is not null) message["reasoning_content"] = ReasoningContent;
        if (ToolCallId is not null) message["tool_call_id"] = ToolCallId;
        if (Name is not null) message["name"] = Name;
        return message;
    }
}
