using TimeBill.Templates;

namespace TimeBill.Tests.Templates;

/// <summary>
/// What this interpreter cannot run fails when the template is parsed, with the line and the construct named; what
/// fails on the data fails while rendering, with the line; <c>raise_exception</c> carries the template's message.
/// </summary>
public sealed class JinjaErrorTests
{
    private static TemplateSyntaxException ParseFails(string template) =>
        Assert.Throws<TemplateSyntaxException>(() => JinjaTemplate.Parse(template, JinjaOptions.ChatTemplate));

    [Theory]
    [InlineData("a\n{% call m() %}x{% endcall %}", 2, "'{% call %}'")]
    [InlineData("{% include 'other.jinja' %}", 1, "'{% include %}'")]
    [InlineData("\n\n{% extends 'base' %}", 3, "'{% extends %}'")]
    [InlineData("{% block body %}{% endblock %}", 1, "'{% block %}'")]
    [InlineData("{% import 'm' as m %}", 1, "'{% import %}'")]
    [InlineData("{% from 'm' import f %}", 1, "'{% from %}'")]
    [InlineData("{% autoescape true %}{% endautoescape %}", 1, "'{% autoescape %}'")]
    [InlineData("{% do x %}", 1, "'{% do %}'")]
    [InlineData("{% for x in y recursive %}{% endfor %}", 1, "recursive")]
    [InlineData("{% macro m() %}{{ caller() }}{% endmacro %}", 1, "{% call %}")]
    [InlineData("{{ f(*args) }}", 1, "'*'")]
    [InlineData("{{ range(**kw) }}", 1, "'**'")]
    [InlineData("{% frobnicate %}", 1, "'{% frobnicate %}'")]
    public void UnsupportedStatementsFailAtParseTimeNamed(string template, int line, string construct)
    {
        var error = ParseFails(template);
        Assert.Equal(line, error.Line);
        Assert.Contains(construct, error.Message);
        Assert.Contains($"line {line}", error.Message);
    }

    [Theory]
    [InlineData("{{ x }}\n{{ x | shuffle }}", 2, "unknown filter 'shuffle'")]
    [InlineData("{% if x is prime %}{% endif %}", 1, "unknown test 'prime'")]
    [InlineData("\n\n\n{{ lipsum(3) }}", 4, "unknown function 'lipsum'")]
    [InlineData("{{ 'a'.casefold() }}", 1, "unknown method 'casefold()'")]
    [InlineData("{{ items.append(1) }}", 1, "unknown method 'append()'")]
    [InlineData("{{ x | map('nofilter') | list }}", 1, "unknown filter 'nofilter' (in map)")]
    [InlineData("{{ x | selectattr('a', 'notatest') | list }}", 1, "unknown test 'notatest' (in selectattr)")]
    [InlineData("{{ x | reject('notatest') | list }}", 1, "unknown test 'notatest' (in reject)")]
    public void UnknownNamesFailAtParseTime(string template, int line, string problem)
    {
        var error = ParseFails(template);
        Assert.Equal(line, error.Line);
        Assert.Contains(problem, error.Problem);
    }

    [Theory]
    [InlineData("{% if x %}\nno end", 1, "'{% if %}' opened at line 1 is never closed")]
    [InlineData("{% for x in y %}{% endif %}", 1, "unexpected '{% endif %}': expected '{% endfor %}' or '{% else %}'")]
    [InlineData("text\n{% endfor %}", 2, "unexpected '{% endfor %}'")]
    [InlineData("{{ x", 1, "never closed ('}}' missing)")]
    [InlineData("{# note", 1, "comment")]
    [InlineData("{{ 'open }}", 1, "unterminated string literal")]
    [InlineData("a\n{{ 1 + }}", 2, "unexpected '}}'")]
    [InlineData("{{ a b }}", 1, "found 'b'")]
    [InlineData("{% break %}", 1, "outside a for loop")]
    [InlineData("{% set 1 = 2 %}", 1, "cannot assign to '1'")]
    [InlineData("{% macro m(a=1, b) %}{% endmacro %}", 1, "without a default follows one with a default")]
    [InlineData("{{ x[0]() }}", 1, "only functions and methods can be called")]
    [InlineData("{{ '\\Udddddddd' }}", 1, "illegal Unicode character \\Udddddddd")]
    [InlineData("\n{{ '\\U00110000' }}", 2, "illegal Unicode character \\U00110000")]
    public void SyntaxErrorsNameTheLineAndTheProblem(string template, int line, string problem)
    {
        var error = ParseFails(template);
        Assert.Equal(line, error.Line);
        Assert.Contains(problem, error.Problem);
    }

    [Theory]
    [InlineData("ok\n{{ foo.bar }}", 2, "'foo' is undefined")]
    [InlineData("{{ d.missing.deeper }}", 1, "'dict object' has no attribute 'missing'")]
    [InlineData("{% for m in messages %}\n{{ m.content.startswith('x') }}\n{% endfor %}", 2, "'int object' has no attribute 'startswith'")]
    [InlineData("{{ 1 + 'a' }}", 1, "unsupported operand type(s) for +: 'int' and 'str'")]
    [InlineData("{{ 'a' + 1 }}", 1, "can only concatenate str (not \"int\") to str")]
    [InlineData("\n{{ 1 // 0 }}", 2, "integer division or modulo by zero")]
    [InlineData("{{ 5 in 'abc' }}", 1, "'in <string>' requires string as left operand, not int")]
    [InlineData("{% for a, b in [1] %}{% endfor %}", 1, "cannot unpack non-iterable int object")]
    [InlineData("{% set n = 1 %}{% set n.x = 2 %}", 1, "not a namespace() object")]
    [InlineData("{{ d|items|length }}", 1, "object of type 'generator' has no len()")]
    [InlineData("{{ d|select }}", 1, "a generator cannot be printed")]
    [InlineData("{{ d.items }}", 1, "cannot be printed")]
    [InlineData("{{ undefined_thing|tojson }}", 1, "'undefined_thing' is undefined")]
    [InlineData("{{ 9223372036854775807 + 1 }}", 1, "integer overflow")]
    [InlineData("{{ 'x'.split('') }}", 1, "empty separator")]
    [InlineData("{{ 'x'.strip(1) }}", 1, "must be a string, not 'int'")]
    [InlineData("{{ strftime_now('%Q') }}", 1, "unsupported format code '%Q'")]
    public void RuntimeErrorsNameTheLine(string template, int line, string problem)
    {
        var parsed = JinjaTemplate.Parse(template, JinjaOptions.ChatTemplate);
        var error = Assert.Throws<TemplateRenderException>(() => parsed.Render(Jinja.Variables("""{"d": {"a": 1}, "messages": [{"content": 5}]}""")));
        Assert.Equal(line, error.Line);
        Assert.Contains(problem, error.Problem);
    }

    [Fact]
    public void RaiseExceptionCarriesTheTemplatesMessage()
    {
        var template = JinjaTemplate.Parse("{% if messages[0].role != 'system' %}\n{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}\n{% endif %}", JinjaOptions.ChatTemplate);
        var error = Assert.Throws<TemplateRaisedException>(() => template.Render(Jinja.Variables("""{"messages": [{"role": "user"}]}""")));
        Assert.Equal("Conversation roles must alternate user/assistant/user/assistant/...", error.TemplateMessage);
        Assert.Equal(2, error.Line);
        Assert.Contains(error.TemplateMessage, error.Message);
        Assert.Equal("", template.Render(Jinja.Variables("""{"messages": [{"role": "system"}]}""")));
    }
}
