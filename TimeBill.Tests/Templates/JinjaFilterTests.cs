namespace TimeBill.Tests.Templates;

/// <summary>
/// Filters, with Jinja's argument names and defaults; <c>tojson</c> is transformers' (Python's <c>json.dumps</c>, <c>ensure_ascii=False</c>, no HTML escaping).
/// Expected strings follow Jinja's documented semantics (and Python's <c>str()</c>/<c>repr()</c> for printed values);
/// each was checked against Jinja2 3.1.6 running as transformers runs chat templates.
/// </summary>
public sealed class JinjaFilterTests
{
    private const string Data = "{\"s\": \"  Hello World  \", \"l\": [3, 1, 2], \"names\": [\"b\", \"A\", \"c\", \"a\"], \"d\": {\"b\": 2, \"a\": 1, \"C\": 3}, \"txt\": \"one two\\nthree\", \"users\": [{\"name\": \"x\", \"age\": 3, \"role\": \"user\"}, {\"name\": \"y\", \"age\": 1, \"role\": \"assistant\"}, {\"name\": \"z\", \"role\": \"user\"}], \"u\": \"h\\u00e9llo w\\u00f6rld \\ud83d\\ude00\", \"e\": \"\", \"none_v\": null}";

    /// <summary>Generators (<c>select</c>, <c>map</c>, <c>items</c>, ...) are made lists with <c>list</c>, as in Jinja.</summary>
    [Theory]
    [InlineData("{{ s|trim }}|{{ s|trim(' Hd') }}|{{ s|length }}|{{ l|count }}|{{ d|length }}|{{ u|length }}", "Hello World|ello Worl|15|3|3|13")]
    [InlineData("{{ l|join(',') }}|{{ l|join }}|{{ users|join(', ', attribute='name') }}", "3,1,2|312|x, y, z")]
    [InlineData("{{ l|first }} {{ l|last }} {{ l|list }} {{ 'ab'|list }} {{ d|list }} [{{ []|first }}] {{ 'xyz'|last }}", "3 2 [3, 1, 2] ['a', 'b'] ['b', 'a', 'C'] [] z")]
    [InlineData("{{ l|sort }} {{ names|sort }} {{ names|sort(case_sensitive=true) }} {{ l|sort(reverse=true) }} {{ users|sort(attribute='name', reverse=true)|map(attribute='name')|join }}", "[1, 2, 3] ['A', 'a', 'b', 'c'] ['A', 'a', 'b', 'c'] [3, 2, 1] zyx")]
    [InlineData("{{ users|map(attribute='name')|list }} {{ users|map(attribute='age', default=0)|list }} {{ names|map('upper')|list }} {{ l|map('string')|join('-') }}", "['x', 'y', 'z'] [3, 1, 0] ['B', 'A', 'C', 'A'] 3-1-2")]
    [InlineData("{{ users|selectattr('role', 'equalto', 'user')|map(attribute='name')|list }} {{ users|rejectattr('role', 'eq', 'user')|list|length }} {{ users|selectattr('age', 'defined')|list|length }}", "['x', 'z'] 1 2")]
    [InlineData("{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ l|reject('equalto', 1)|list }} {{ l|select('gt', 1)|list }} {{ l|select('in', [1, 2])|list }}", "[3, 1] [2] [1, 'a'] [3, 2] [3, 2] [1, 2]")]
    [InlineData("{{ d|dictsort }} {{ d|dictsort(true) }} {{ d|dictsort(by='value', reverse=true) }}", "[('a', 1), ('b', 2), ('C', 3)] [('C', 3), ('a', 1), ('b', 2)] [('C', 3), ('b', 2), ('a', 1)]")]
    [InlineData("{{ d|items|list }} {% for k, v in d|items %}{{ k }}{{ v }}{% endfor %} {{ undefined_thing|items|list }}", "[('b', 2), ('a', 1), ('C', 3)] b2a1C3 []")]
    [InlineData("{{ s|lower }}|{{ s|upper }}|{{ 'hELLo wORLD'|capitalize }}|{{ \"they're o'neil-smith (x) [y]\"|title }}", "  hello world  |  HELLO WORLD  |Hello world|They're O'neil-Smith (X) [Y]")]
    [InlineData("{{ s|replace('l', 'L') }} {{ s|replace('l', 'L', 1) }} {{ 'ab'|replace('', '-') }}", "  HeLLo WorLd     HeLlo World   -a-b-")]
    [InlineData("{{ undefined_thing|default('fallback') }} {{ none_v|default('fallback') }} {{ e|default('fallback', true) }} {{ e|d('x', boolean=true) }} {{ 0|default(5) }}", "fallback None fallback x 0")]
    [InlineData("{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ '1A'|int(base=16) }} {{ ' 12 '|int }} {{ true|int }} {{ none_v|int }}", "42 4 0 7 3 26 12 1 0")]
    [InlineData("{{ '4.5'|float }} {{ 'x'|float }} {{ 3|float }} {{ '1e3'|float }} {{ ' -2.5 '|float }}", "4.5 0.0 3.0 1000.0 -2.5")]
    [InlineData("{{ -3|abs }} {{ -2.5|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 7|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(0, 'floor') }} {{ 1.23456|round(3) }}", "3 2.5 2.0 4.0 2.67 7 3.0 2.0 1.235")]
    [InlineData("{{ [1, 2, 1, 3]|unique|list }} {{ ['a', 'A', 'b']|unique|list }} {{ ['a', 'A', 'b']|unique(case_sensitive=true)|list }} {{ users|unique(attribute='role')|map(attribute='name')|list }}", "[1, 2, 3] ['a', 'b'] ['a', 'A', 'b'] ['x', 'y']")]
    [InlineData("{{ '<a href=\"x\">&\\'</a>'|e }} {{ '<b>'|escape }} {{ '<b>'|safe }} {{ '<b>'|safe|e }}", "&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt; &lt;b&gt; <b> <b>")]
    [InlineData("{{ txt|indent }}|{{ txt|indent(2, true) }}|{{ 'a\\n\\nb'|indent(2) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|{{ 'a\\nb'|indent('> ') }}", "one two\n    three|  one two\n  three|a\n\n  b|a\n  \n  b|a\n> b")]
    [InlineData("{{ 'a b  c'|wordcount }} [{{ 'abc'|center(9) }}] [{{ 'abc'|center(8) }}] [{{ 'ab'|center(7) }}]", "3 [   abc   ] [  abc   ] [   ab  ]")]
    [InlineData("{{ l|reverse|list }} {{ 'abc'|reverse }} {{ l|sum }} {{ l|max }} {{ l|min }} {{ names|max }} {{ users|min(attribute='name') }}", "[2, 1, 3] cba 6 3 1 c {'name': 'x', 'age': 3, 'role': 'user'}")]
    [InlineData("{{ '%s-%d'|format('a', 3) }} {{ '%(x)s!'|format(x=1) }} {{ 1|string }} {{ none_v|string }} {{ [1]|string }}", "a-3 1! 1 None [1]")]
    [InlineData("{{ 'hello world foo bar baz'|truncate(12) }}|{{ 'hello world foo bar baz'|truncate(12, true) }}|{{ 'short'|truncate(12) }}", "hello...|hello wor...|short")]
    public void FiltersWorkAsInJinja(string template, string expected) => Assert.Equal(expected, Jinja.Render(template, Data));

    /// <summary>Separators <c>", "</c> and <c>": "</c> (<c>","</c> when indenting), key order kept, floats as Python repr, non-ASCII kept unless <c>ensure_ascii</c>.</summary>
    [Theory]
    [InlineData("{{ users|tojson }}", "[{\"name\": \"x\", \"age\": 3, \"role\": \"user\"}, {\"name\": \"y\", \"age\": 1, \"role\": \"assistant\"}, {\"name\": \"z\", \"role\": \"user\"}]")]
    [InlineData("{{ users[:1]|tojson(indent=4) }}", "[\n    {\n        \"name\": \"x\",\n        \"age\": 3,\n        \"role\": \"user\"\n    }\n]")]
    [InlineData("{{ d|tojson(indent=2, sort_keys=true) }}", "{\n  \"C\": 3,\n  \"a\": 1,\n  \"b\": 2\n}")]
    [InlineData("{{ [1.0, 0.1, 1e-07, 1e20, 12345678901234567890.0, -0.0, none, true, false, 3]|tojson }}", "[1.0, 0.1, 1e-07, 1e+20, 1.2345678901234567e+19, -0.0, null, true, false, 3]")]
    [InlineData("{{ ['é', '\"q\"', 'back\\\\slash', 'nl\\n', 'cr\\r', 'tab\\t', '\\b\\f', '\\x01\\x1f', '\\x7f', '😀']|tojson }}", "[\"é\", \"\\\"q\\\"\", \"back\\\\slash\", \"nl\\n\", \"cr\\r\", \"tab\\t\", \"\\b\\f\", \"\\u0001\\u001f\", \"\u007f\", \"😀\"]")]
    [InlineData("{{ {}|tojson(indent=4) }} {{ []|tojson(indent=4) }} {{ {'a': [], 'b': {}}|tojson(indent=4) }}", "{} [] {\n    \"a\": [],\n    \"b\": {}\n}")]
    [InlineData("{{ u|tojson }} {{ u|tojson(true) }} {{ (1, 2)|tojson }} {{ d|tojson(separators=(',', ':')) }} {{ {1: 'int key', none: 'none key'}|tojson }}", "\"héllo wörld 😀\" \"h\\u00e9llo w\\u00f6rld \\ud83d\\ude00\" [1, 2] {\"b\":2,\"a\":1,\"C\":3} {\"1\": \"int key\", \"null\": \"none key\"}")]
    public void ToJsonWritesAsPythonJsonDumps(string template, string expected) => Assert.Equal(expected, Jinja.Render(template, Data));
}
