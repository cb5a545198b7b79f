using System.Text.Json.Nodes;
using TimeBill.Templates.Evaluation;
using TimeBill.Templates.Parsing;
using TimeBill.Templates.Syntax;
using TimeBill.Templates.Values;

namespace TimeBill.Templates;

/// <summary>
/// A parsed Jinja template. Parsing checks everything that can be checked before rendering: a construct this
/// interpreter does not support, or a filter, test, function or method it does not know, fails in
/// <see cref="Parse"/> with its line, never by rendering wrong text. Values print and compare as in Python.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly IReadOnlyList<Statement> _body;

    private JinjaTemplate(string source, JinjaOptions options, IReadOnlyList<Statement> body)
    {
        Source = source;
        Options = options;
        _body = body;
    }

    /// <summary>The template text.</summary>
    public string Source { get; }

    /// <summary>The options it was parsed with and renders with.</summary>
    public JinjaOptions Options { get; }

    /// <summary>Parses <paramref name="source"/>; <paramref name="options"/> default to Jinja's (no trimming).</summary>
    /// <exception cref="TemplateSyntaxException">A syntax error or an unsupported construct, with its line.</exception>
    public static JinjaTemplate Parse(string source, JinjaOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        options ??= new JinjaOptions();
        return new JinjaTemplate(source, options, Parser.Parse(source, options.TrimBlocks, options.LstripBlocks));
    }

    /// <summary>
    /// Renders the template with <paramref name="variables"/>. A value may be JSON (<see cref="JsonNode"/>,
    /// <see cref="System.Text.Json.JsonElement"/>), a dictionary, a list or other enumerable, a string, a number, a
    /// bool or null; JSON objects and dictionaries keep their key order.
    /// </summary>
    /// <exception cref="ArgumentException">A variable of a type that cannot be passed to a template.</exception>
    /// <exception cref="TemplateRaisedException">The template called <c>raise_exception</c>.</exception>
    /// <exception cref="TemplateRenderException">The template failed while rendering, with the line.</exception>
    public string Render(IEnumerable<KeyValuePair<string, object?>>? variables = null) =>
        Renderer.Render(_body, (variables ?? []).Select(v => KeyValuePair.Create(v.Key, Conversion.FromObject(v.Value))), Options.Clock);

    /// <summary>Renders the template with the properties of <paramref name="variables"/> as its variables.</summary>
    /// <inheritdoc cref="Render(IEnumerable{KeyValuePair{string, object}})" path="/exception"/>
    public string Render(JsonObject variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        return Renderer.Render(_body, variables.Select(v => KeyValuePair.Create(v.Key, Conversion.FromJson(v.Value))), Options.Clock);
    }
}
