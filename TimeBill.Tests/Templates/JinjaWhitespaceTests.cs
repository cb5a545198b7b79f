using TimeBill.Templates;

namespace TimeBill.Tests.Templates;

/// <summary>
/// Jinja's whitespace rules: <c>trim_blocks</c> drops the first newline after a block tag or comment (not after
/// <c>}}</c>); <c>lstrip_blocks</c> drops the spaces and tabs before a block tag or comment only when nothing else
/// precedes it on its line (never before <c>{{</c>); <c>{%+</c> / <c>+%}</c> opt out; <c>-</c> strips all white space on
/// its side; one trailing newline of the template is dropped. Expected strings follow the Jinja documentation and were
/// checked against Jinja2 3.1.6.
/// </summary>
public sealed class JinjaWhitespaceTests
{
    [Theory]
    [InlineData("a\n  {% if true %}\n  b\n  {% endif %}\nc", true, true, "a\n  b\nc")]
    [InlineData("a\n  {% if true %}\n  b\n  {% endif %}\nc", false, false, "a\n  \n  b\n  \nc")]
    [InlineData("a\n  {% if true %}\n  b\n  {% endif %}\nc", true, false, "a\n    b\n  c")]
    [InlineData("a\n  {% if true %}\n  b\n  {% endif %}\nc", false, true, "a\n\n  b\n\nc")]
    [InlineData("x  {% if true %}y{% endif %}\n", true, true, "x  y")]
    [InlineData("  {{ 1 }}\n  {{ 2 }}\n", true, true, "  1\n  2")]
    [InlineData("\t{%+ if true %}b{% endif %}", true, true, "\tb")]
    [InlineData("{% if true +%}\nb{% endif %}", true, true, "\nb")]
    [InlineData("a\n  {# note #}\nb", true, true, "a\nb")]
    [InlineData("a\n  {# note #}\nb", false, false, "a\n  \nb")]
    [InlineData("a  {%- if true -%}  \n  b  {%- endif %}\n\nc", false, false, "ab\n\nc")]
    [InlineData("a {{- ' b ' -}} c", false, false, "a b c")]
    [InlineData("x\n   {#- note -#}   \ny", false, false, "xy")]
    [InlineData("{%- for i in range(3) -%}\n  {{ i }}\n{%- endfor %}", true, true, "012")]
    [InlineData("{% for i in range(2) %}\n    {{ i }}\n{% endfor %}", true, true, "    0\n    1\n")]
    [InlineData("  {% raw %}{{ not a tag }}{% endraw %}\n!", true, true, "{{ not a tag }}!")]
    [InlineData("text\n", true, true, "text")]
    [InlineData("text\n\n", true, true, "text\n")]
    [InlineData("one\r\ntwo\r\n", true, true, "one\ntwo")]
    [InlineData("{% if true %}  \n x{% endif %}", true, true, "  \n x")]
    public void WhitespaceFollowsJinja(string template, bool trimBlocks, bool lstripBlocks, string expected) =>
        Assert.Equal(expected, Jinja.Render(template, options: new JinjaOptions { TrimBlocks = trimBlocks, LstripBlocks = lstripBlocks }));

    [Fact]
    public void LstripLeavesABlockTagThatFollowsTextOnItsLine()
    {
        Assert.Equal("a  b", Jinja.Render("a  {% if true %}b{% endif %}"));
        Assert.Equal("b", Jinja.Render("  {% if true %}b{% endif %}"));
    }

    [Fact]
    public void TrimBlocksLeavesTheNewlineAfterAnExpression() =>
        Assert.Equal("1\n2", Jinja.Render("{{ 1 }}\n{% if true %}\n2{% endif %}"));
}
