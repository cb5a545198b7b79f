using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace TimeBill.Predictors.Chat;

/// <summary>
/// Microsoft.Extensions.AI messages and tools as the JSON a Hugging Face chat template reads: messages with
/// <c>role</c> and <c>content</c>, an assistant's function calls as <c>tool_calls</c>
/// (<c>{"type": "function", "function": {"name", "arguments"}}</c>, arguments as an object), a function result as
/// a <c>tool</c> message whose content is the result (a string as is, anything else as JSON), and tools as
/// function specs (<c>{"type": "function", "function": {"name", "description", "parameters"}}</c>).
/// </summary>
internal static class ChatTemplateInput
{
    private static readonly JsonSerializerOptions Compact = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };

    /// <summary>The messages, after <paramref name="instructions"/> as a system message when given.</summary>
    /// <exception cref="ArgumentException">No message, or a null message.</exception>
    /// <exception cref="NotSupportedException">Content other than text, function calls and function results, named.</exception>
    public static JsonArray Messages(IEnumerable<ChatMessage> messages, string? instructions)
    {
        var result = new JsonArray();
        if (!string.IsNullOrEmpty(instructions)) result.Add(new JsonObject { ["role"] = "system", ["content"] = instructions });
        foreach (var message in messages)
        {
            if (message is null) throw new ArgumentException("a message is null.", nameof(messages));
            var text = new System.Text.StringBuilder();
            var calls = new JsonArray();
            foreach (var content in message.Contents)
            {
                switch (content)
                {
                    case TextContent t: text.Append(t.Text); break;
                    case TextReasoningContent: break; // earlier reasoning is not sent back, as the templates drop it themselves
                    case FunctionCallContent call:
                        calls.Add(new JsonObject
                        {
                            ["type"] = "function",
                            ["id"] = call.CallId,
                            ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = Arguments(call.Arguments) },
                        });
                        break;
                    case FunctionResultContent functionResult:
                        if (text.Length > 0 || calls.Count > 0) throw Mixed(message);
                        result.Add(new JsonObject
                        {
                            ["role"] = "tool",
                            ["tool_call_id"] = functionResult.CallId,
                            ["content"] = ResultText(functionResult.Result),
                        });
                        continue;
                    default:
                        throw new NotSupportedException($"a {message.Role} message holds {content?.GetType().Name ?? "null"} content; this client takes text, function calls and function results.");
                }
            }
            if (message.Contents.All(c => c is FunctionResultContent) && message.Contents.Count > 0) continue;
            var item = new JsonObject { ["role"] = message.Role.Value, ["content"] = text.ToString() };
            if (calls.Count > 0) item["tool_calls"] = calls;
            result.Add(item);
        }
        if (result.Count == 0) throw new ArgumentException("there is no message to answer.", nameof(messages));
        return result;
    }

    /// <summary>Function specs of the tools that declare functions; null without any.</summary>
    /// <exception cref="NotSupportedException">A tool that is not a function, named.</exception>
    public static JsonArray? Tools(IList<AITool>? tools)
    {
        if (tools is not { Count: > 0 }) return null;
        var specs = new JsonArray();
        foreach (var tool in tools)
        {
            if (tool is not AIFunctionDeclaration function)
                throw new NotSupportedException($"the tool {tool.Name} is a {tool.GetType().Name}; this client calls functions (AIFunction) only.");
            var spec = new JsonObject { ["name"] = function.Name };
            if (!string.IsNullOrEmpty(function.Description)) spec["description"] = function.Description;
            spec["parameters"] = JsonNode.Parse(function.JsonSchema.GetRawText());
            specs.Add(new JsonObject { ["type"] = "function", ["function"] = spec });
        }
        return specs;
    }

    private static JsonNode Arguments(IDictionary<string, object?>? arguments) =>
        arguments is null ? new JsonObject() : JsonSerializer.SerializeToNode(arguments, AIJsonUtilities.DefaultOptions) ?? new JsonObject();

    private static string ResultText(object? result) => result switch
    {
        null => "",
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
        _ => JsonSerializer.Serialize(result, Compact), // one line, as a tool's JSON answer usually is
    };

    private static NotSupportedException Mixed(ChatMessage message) =>
        new($"a {message.Role} message mixes function results with other content; send each result in a message of its own or results only.");
}
