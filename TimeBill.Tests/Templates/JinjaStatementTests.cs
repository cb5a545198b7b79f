namespace TimeBill.Tests.Templates;

/// <summary>
/// Statements: <c>for</c> (loop variables, filters, <c>else</c>, unpacking, break/continue), <c>if</c>, <c>set</c> and its scoping, namespaces, block set, <c>with</c>, <c>filter</c>, macros, <c>print</c>.
/// Expected strings follow Jinja's documented semantics (and Python's <c>str()</c>/<c>repr()</c> for printed values);
/// each was checked against Jinja2 3.1.6 running as transformers runs chat templates.
/// </summary>
public sealed class JinjaStatementTests
{
    private const string Data = "{\"items\": [\"a\", \"b\", \"c\"], \"d\": {\"x\": 1, \"y\": 2}, \"empty\": [], \"pairs\": [[\"k1\", \"v1\"], [\"k2\", \"v2\"]]}";

    /// <summary>A plain <c>set</c> inside a loop does not leak out of it; <c>set ns.attr</c> on a namespace does.</summary>
    [Theory]
    [InlineData("{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}", "1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;")]
    [InlineData("{% for x in items %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }};{% endfor %}", "<a>b;a<b>c;b<c>;")]
    [InlineData("{% for x in items if x != 'b' %}{{ x }}{{ loop.index }}{{ loop.last }};{% endfor %}", "a1False;c2True;")]
    [InlineData("{% for x in empty %}no{% else %}empty{% endfor %}|{% for x in items if false %}{% else %}all filtered{% endfor %}", "empty|all filtered")]
    [InlineData("{% for x in items %}{% if x == 'b' %}{% continue %}{% endif %}{{ x }}{% endfor %}|{% for x in items %}{% if x == 'b' %}{% break %}{% endif %}{{ x }}{% endfor %}", "ac|a")]
    [InlineData("{% for x in items %}{{ loop.cycle('odd', 'even') }} {% endfor %}|{% for x in [1, 1, 2, 1] %}{{ loop.changed(x) }} {% endfor %}", "odd even odd |True False True True ")]
    [InlineData("{% for k, v in pairs %}{{ k }}={{ v }};{% endfor %}|{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in d %}{{ k }}{% endfor %}|{% for c in 'xyz' %}{{ c }}.{% endfor %}", "k1=v1;k2=v2;|x=1;y=2;|xy|x.y.z.")]
    [InlineData("{% for row in [[1, 2], [3]] %}{% for cell in row %}{{ loop.index }}{% endfor %}/{{ loop.index }} {% endfor %}", "12/1 1/2 ")]
    [InlineData("{% set x = 'outer' %}{% for i in items %}{% set x = i %}{{ x }}{% endfor %} {{ x }}", "abc outer")]
    [InlineData("{% for i in items %}{% if i == 'a' %}{% set seen = true %}{% endif %}{{ seen is defined }} {% endfor %}", "True False False ")]
    [InlineData("{% if true %}{% set y = 'set inside if' %}{% endif %}{{ y }}", "set inside if")]
    [InlineData("{% set ns = namespace(count=0, found=none) %}{% for i in items %}{% set ns.count = ns.count + 1 %}{% if i == 'b' %}{% set ns.found = loop.index0 %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}", "3 1")]
    [InlineData("{% set ns = namespace({'a': 1}, b=2) %}{% set ns.c = 3 %}{{ ns.a }}{{ ns.b }}{{ ns.c }}{{ ns.missing }}|{{ ns }}", "123|<Namespace {'a': 1, 'b': 2, 'c': 3}>")]
    [InlineData("{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = 1, 2 %}{{ t }} {% set (p, q) = 'xy' %}{{ q }}{{ p }}", "12 (1, 2) yx")]
    [InlineData("{% set block %}items: {{ items|join(', ') }}{% endset %}[{{ block }}] {% set shout | upper | trim %}  hello  {% endset %}[{{ shout }}]", "[items: a, b, c] [HELLO]")]
    [InlineData("{% with q = 5, r = 6 %}{{ q + r }}{% endwith %}{{ q is defined }}", "11False")]
    [InlineData("{% filter upper %}hello {{ items|first }}{% endfilter %}", "HELLO A")]
    [InlineData("{% macro greet(name, greeting='Hi') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('A') }} {{ greet('B', 'Yo') }} {{ greet(greeting='Hey', name='C') }} [{{ greet() }}]", "Hi, A! Yo, B! Hey, C! [Hi, !]")]
    [InlineData("{% macro tag(name) %}<{{ name }}{% for k, v in kwargs|dictsort %} {{ k }}=\"{{ v }}\"{% endfor %}>{{ varargs|join }}{% endmacro %}{{ tag('a', 'x', 'y', href='/', id=1) }}", "<a href=\"/\" id=\"1\">xy")]
    [InlineData("{% macro countdown(n) %}{{ n }}{% if n > 0 %} {{ countdown(n - 1) }}{% endif %}{% endmacro %}{{ countdown(3) }}", "3 2 1 0")]
    [InlineData("{% set x = 1 %}{% macro show() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ show() }}", "2")]
    [InlineData("{% print 'a', 1 + 1 %}", "a2")]
    public void StatementsRunAsInJinja(string template, string expected) => Assert.Equal(expected, Jinja.Render(template, Data));

    [Fact]
    public void GenerationBlockRendersItsBody() =>
        Assert.Equal("kept 3", Jinja.Render("{% generation %}kept {{ items|length }}{% endgeneration %}", Data));
}
