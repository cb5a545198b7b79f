using System.Text.Json;
using System.Text.Json.Nodes;
using TimeBill.Templates;

namespace TimeBill.Tests.Templates;

/// <summary>.NET data reaches templates as Python values; generators are one-shot as in Python.</summary>
public sealed class JinjaValueTests
{
    private static readonly JinjaTemplate Show = JinjaTemplate.Parse("{{ v }} {{ v|tojson }}");

    private static string Render(object? value) => Show.Render(new Dictionary<string, object?> { ["v"] = value });

    [Fact]
    public void DotNetValuesBecomePythonValues()
    {
        Assert.Equal("None null", Render(null));
        Assert.Equal("True true", Render(true));
        Assert.Equal("42 42", Render(42));
        Assert.Equal("0.1 0.1", Render(0.1f));
        Assert.Equal("2.5 2.5", Render(2.5m));
        Assert.Equal("x \"x\"", Render('x'));
        Assert.Equal("[1, 'a', None] [1, \"a\", null]", Render(new List<object?> { 1, "a", null }));
        var ordered = new Dictionary<string, object?> { ["z"] = 1, ["a"] = new[] { 2.0 } };
        Assert.Equal("{'z': 1, 'a': [2.0]} {\"z\": 1, \"a\": [2.0]}", Render(ordered));
    }

    [Fact]
    public void JsonNumbersKeepIntegerOrFloat()
    {
        Assert.Equal("[1, 1.0, 100.0, -0.5] [1, 1.0, 100.0, -0.5]", Render(JsonDocument.Parse("[1, 1.0, 1e2, -0.5]").RootElement));
        Assert.Equal("{'k': [True, None]} {\"k\": [true, null]}", Render(JsonNode.Parse("""{"k": [true, null]}""")));
        Assert.Equal("{'n': 7} {\"n\": 7}", Render(new JsonObject { ["n"] = 7 }));
    }

    [Fact]
    public void InfinityAndNanPrintAsPythonAndJsonDumpsWriteThem() =>
        Assert.Equal("[Infinity, -Infinity, NaN] inf -inf nan",
            Jinja.Render("{{ ['inf'|float, '-inf'|float, 'nan'|float]|tojson }} {{ 'inf'|float }} {{ '-inf'|float }} {{ 'nan'|float }}"));

    [Fact]
    public void UnsupportedValuesAreRefusedByType()
    {
        var error = Assert.Throws<ArgumentException>(() => Render(new Uri("http://example.org")));
        Assert.Contains("System.Uri", error.Message);
        Assert.Throws<ArgumentException>(() => Render(JsonDocument.Parse("123456789012345678901234567890").RootElement));
    }

    [Fact]
    public void AGeneratorIsConsumedByItsFirstUse() =>
        Assert.Equal("[1, 2] []", Jinja.Render("{% set g = l|select %}{{ g|list }} {{ g|list }}", """{"l": [1, 2]}"""));

    [Fact]
    public void RenderingTwiceGivesTheSameTextAndLeavesTheInputAlone()
    {
        var template = JinjaTemplate.Parse("{% set ns = namespace(n=0) %}{% for x in l %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}");
        var variables = Jinja.Variables("""{"l": [1, 2, 3]}""");
        Assert.Equal("6", template.Render(variables));
        Assert.Equal("6", template.Render(variables));
        Assert.Equal("""{"l":[1,2,3]}""", variables.ToJsonString());
    }
}
