using System.Text.Json;
using System.Text.Json.Nodes;

namespace TimeBill.Cli.Commands;

/// <summary>Chat-template variables given as <c>NAME=JSON</c> (<c>--var enable_thinking=false</c>).</summary>
internal static class TemplateVariables
{
    /// <summary>Parses each assignment into <paramref name="into"/>; <paramref name="source"/> names the option in errors.</summary>
    public static void Parse(IEnumerable<string> assignments, Dictionary<string, JsonNode?> into, string source)
    {
        foreach (string assignment in assignments)
        {
            int equals = assignment.IndexOf('=');
            if (equals <= 0) throw new ArgumentException($"{source} takes NAME=JSON, such as enable_thinking=false; got '{assignment}'.");
            string name = assignment[..equals].Trim(), value = assignment[(equals + 1)..].Trim();
            try { into[name] = JsonNode.Parse(value); }
            catch (JsonException) { throw new ArgumentException($"{source} {name}: '{value}' is not JSON (a string needs quotes: \"text\")."); }
        }
    }

    /// <summary>The assignments as a dictionary, for <c>ChatTemplateOptions.Variables</c>.</summary>
    public static Dictionary<string, object?> Parse(IEnumerable<string> assignments, string source)
    {
        var nodes = new Dictionary<string, JsonNode?>();
        Parse(assignments, nodes, source);
        return nodes.ToDictionary(p => p.Key, p => (object?)p.Value);
    }

    /// <summary>A JSON array read from <paramref name="path"/>, or an error naming the option and file.</summary>
    public static JsonArray ReadArray(string path, string option)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{option}: file not found: {path}", path);
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonArray
                ?? throw new ArgumentException($"{option}: {path} must hold a JSON array.");
        }
        catch (JsonException e) { throw new ArgumentException($"{option}: {path} is not valid JSON ({e.Message})."); }
    }
}
