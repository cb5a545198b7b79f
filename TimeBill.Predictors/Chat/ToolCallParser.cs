using System.Text.Json;
using Microsoft.Extensions.AI;

namespace TimeBill.Predictors.Chat;

/// <summary>
/// Splits a model's answer into text and the function calls it wrote in the Hermes / Qwen style:
/// <c>&lt;tool_call&gt;{"name": ..., "arguments": {...}}&lt;/tool_call&gt;</c>, one JSON object per block. A block whose
/// JSON does not parse, or that names no function, stays text (the answer is kept, not lost).
/// </summary>
internal static class ToolCallParser
{
    public const string Open = TimeBill.Core.Constraints.ToolCallGrammar.Open, Close = TimeBill.Core.Constraints.ToolCallGrammar.Close;

    public static List<AIContent> Parse(string answer, Func<string> newCallId)
    {
        var contents = new List<AIContent>();
        int at = 0;
        while (at < answer.Length)
        {
            int start = answer.IndexOf(Open, at, StringComparison.Ordinal);
            int end = start < 0 ? -1 : answer.IndexOf(Close, start + Open.Length, StringComparison.Ordinal);
            if (end < 0)
            {
                AddText(contents, answer[at..]);
                break;
            }
            AddText(contents, answer[at..start]);
            string body = answer[(start + Open.Length)..end];
            if (ToCall(body, newCallId) is { } call) contents.Add(call);
            else AddText(contents, answer[start..(end + Close.Length)]);
            at = end + Close.Length;
        }
        return contents;
    }

    private static FunctionCallContent? ToCall(string body, Func<string> newCallId)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                || string.IsNullOrEmpty(name.GetString()))
                return null;
            var arguments = new Dictionary<string, object?>();
            if (root.TryGetProperty("arguments", out var given))
            {
                var element = given.ValueKind == JsonValueKind.String ? JsonDocument.Parse(given.GetString()!).RootElement : given;
                if (element.ValueKind != JsonValueKind.Object) return null;
                foreach (var property in element.EnumerateObject()) arguments[property.Name] = property.Value.Clone();
            }
            return new FunctionCallContent(newCallId(), name.GetString()!, arguments);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void AddText(List<AIContent> contents, string text)
    {
        if (text.Trim().Length > 0) contents.Add(new TextContent(text.Trim('\n')));
    }
}
