using System.Text.Json.Nodes;

namespace TimeBill.Core.ChatTemplates;

/// <summary>
/// A function call an assistant message made. The template sees it as
/// <c>{"type": "function", "function": {"name": ..., "arguments": ...}, "id": ...}</c>, with the arguments as an
/// object or, when given as JSON text, as that string (templates print a string verbatim and an object through <c>tojson</c>).
/// </summary>
public sealed class ChatTemplateToolCall
{
    /// <summary>A call with its arguments as a JSON object.</summary>
    public ChatTemplateToolCall(string name, JsonObject arguments, string? id = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(arguments);
        Name = name;
        Arguments = arguments;
        Id = id;
    }

    /// <summary>A call with its arguments as JSON text, passed to the template as that string.</summary>
    public ChatTemplateToolCall(string name, string argumentsJson, string? id = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(argumentsJson);
        Name = name;
        Arguments = JsonValue.Create(argumentsJson);
        Id = id;
    }

    /// <summary>The function's name.</summary>
    public string Name { get; }

    /// <summary>The arguments: a <see cref="JsonObject"/>, or a string <see cref="JsonValue"/> holding JSON text.</summary>
    public JsonNode Arguments { get; }

    /// <summary>The call's id, which a tool result can refer to; null when there is none.</summary>
    public string? Id { get; }

    internal JsonObject ToJson()
    {
        var call = new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = Name, ["arguments"] = Arguments.DeepClone() },
        };
        if (Id is not null) call["id"] = Id;
        return call;
    }
}
