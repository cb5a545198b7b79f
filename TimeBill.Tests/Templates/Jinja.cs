using System.Text.Json.Nodes;
using TimeBill.Templates;

namespace TimeBill.Tests.Templates;

/// <summary>Renders a template with variables written as a JSON object.</summary>
internal static class Jinja
{
    /// <summary>Parses with <paramref name="options"/> (default: the chat-template options, trim_blocks and lstrip_blocks on) and renders.</summary>
    public static string Render(string template, string? variablesJson = null, JinjaOptions? options = null) =>
        JinjaTemplate.Parse(template, options ?? JinjaOptions.ChatTemplate).Render(Variables(variablesJson));

    public static JsonObject Variables(string? json) => json is null ? [] : JsonNode.Parse(json)!.AsObject();
}
