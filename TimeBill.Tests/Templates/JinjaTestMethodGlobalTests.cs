using TimeBill.Templates;

namespace TimeBill.Tests.Templates;

/// <summary>
/// Tests (<c>is ...</c>), the methods of strings, dicts and lists, the globals, and Jinja's default undefined.
/// Expected strings follow Jinja's documented semantics (and Python's <c>str()</c>/<c>repr()</c> for printed values);
/// each was checked against Jinja2 3.1.6 running as transformers runs chat templates.
/// </summary>
public sealed class JinjaTestMethodGlobalTests
{
    /// <summary>strftime_now reads this clock: Friday 26 July 2024, 14:05:09 local time.</summary>
    private static readonly JinjaOptions Clocked = JinjaOptions.ChatTemplate with { Clock = new FixedClock(new DateTime(2024, 7, 26, 14, 5, 9)) };

    private const string Data = "{\"d\": {\"k\": \"v\", \"n\": 2}, \"l\": [1, 2], \"s\": \"Abc\", \"none_v\": null, \"u\": \"h\\u00e9llo \\ud83d\\ude00\"}";

    /// <summary>Tests bind tighter than <c>not</c>; <c>is not</c> negates.</summary>
    [Theory]
    [InlineData("{{ x is defined }} {{ x is undefined }} {{ d is defined }} {{ d.k is defined }} {{ d.zz is defined }} {{ d.zz is undefined }} {{ none_v is defined }}", "False True True True False True True")]
    [InlineData("{{ none_v is none }} {{ 0 is none }} {{ none_v is not none }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ true is boolean }} {{ 1 is boolean }}", "True False False True False True False True False")]
    [InlineData("{{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ 's' is number }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is integer }} {{ 1.0 is float }} {{ 1 is float }}", "True True True False True False False True False")]
    [InlineData("{{ s is string }} {{ 1 is string }} {{ d is mapping }} {{ l is mapping }} {{ l is iterable }} {{ s is iterable }} {{ d is iterable }} {{ 1 is iterable }} {{ none_v is iterable }}", "True False True False True True True False False")]
    [InlineData("{{ l is sequence }} {{ s is sequence }} {{ d is sequence }} {{ 1 is sequence }} {{ range is callable }} {{ s.upper is callable }} {{ s is callable }}", "True True True False True True False")]
    [InlineData("{{ 3 is odd }} {{ 3 is even }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} {{ 'ABC' is upper }} {{ s is upper }} {{ 'abc' is lower }}", "True False True True False True False True")]
    [InlineData("{{ 1 is eq 1 }} {{ 1 is equalto 2 }} {{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 1 is lessthan 1 }} {{ 1 is le 1 }} {{ 2 is gt 1 }} {{ 2 is greaterthan 2 }} {{ 2 is ge 2 }} {{ l|select('==', 2)|list }} {{ l|select('!=', 2)|list }} {{ l|select('>', 1)|list }} {{ l|select('<=', 1)|list }}", "True False True True False True True False True [2] [1] [2] [1]")]
    [InlineData("{{ 1 is in l }} {{ 'k' is in d }} {{ 'b' is in s }} {{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }} {{ none_v is sameas none }} {{ 's'|e is escaped }} {{ 's' is escaped }}", "True True True True False True True True False")]
    [InlineData("{{ 5 is not divisibleby 2 }} {{ not 5 is odd }} {{ s is not string }}", "True False False")]
    public void TestsAnswerAsInJinja(string template, string expected) => Assert.Equal(expected, Jinja.Render(template, Data));

    /// <summary>String methods count characters in code points, as Python does.</summary>
    [Theory]
    [InlineData("{{ '  a b  '.strip() }}|{{ '  a b  '.lstrip() }}|{{ '  a b  '.rstrip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n\\nhi\\n'.lstrip('\\n') }}|{{ 'hi\\n\\n'.rstrip('\\n') }}", "a b|a b  |  a b|hi|hi\n|hi")]
    [InlineData("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ ' a b c '.split(none, 1) }} {{ 'a b'.split(maxsplit=0) }}", "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b,c'] ['a,b', 'c'] ['a', 'b c '] ['a b']")]
    [InlineData("{{ s.startswith('Ab') }} {{ s.startswith('b', 1) }} {{ s.endswith(('x', 'c')) }} {{ s.find('c') }} {{ s.find('z') }} {{ u.find('😀') }} {{ 'abcabc'.count('b') }} {{ 'abcabc'.rfind('b') }}", "True True True 2 -1 6 2 4")]
    [InlineData("{{ s.lower() }} {{ s.upper() }} {{ 'hello world'.title() }} {{ \"they're\".title() }} {{ 'hELLO'.capitalize() }} {{ 'a-b-c'.replace('-', '+') }} {{ 'a-b-c'.replace('-', '+', 1) }} {{ ', '.join(['x', 'y']) }}", "abc ABC Hello World They'Re Hello a+b+c a+b-c x, y")]
    [InlineData("{{ '{} and {}'.format(1, 'x') }} {{ '{0}{0}{name}'.format('a', name='b') }} {{ '[{:>5}|{:<4}|{:^6}|{:05d}|{:.2f}|{:,}]'.format('a', 'b', 'c', 42, 3.14159, 1234567) }} {{ '{!r}'.format('q') }} {{ '{{}}'.format() }}", "1 and x aab [    a|b   |  c   |00042|3.14|1,234,567] 'q' {}")]
    [InlineData("{{ 'abc'.isalpha() }} {{ '12'.isdigit() }} {{ 'a1'.isalnum() }} {{ ' '.isspace() }} {{ 'ab'.islower() }} {{ 'AB'.isupper() }} {{ '7'.zfill(3) }} {{ '-7'.zfill(3) }} [{{ 'a'.ljust(3, '.') }}] [{{ 'a'.rjust(3) }}] [{{ 'a'.center(5, '*') }}]", "True True True True True True 007 -07 [a..] [  a] [**a**]")]
    [InlineData("{{ d.items() }} {{ d.keys() }} {{ d.values() }} {{ d.get('k') }} {{ d.get('zz', 5) }} {{ d.get('zz') }} {{ d.items()|list }} {{ l.count(2) }} {{ l.index(2) }}", "dict_items([('k', 'v'), ('n', 2)]) dict_keys(['k', 'n']) dict_values(['v', 2]) v 5 None [('k', 'v'), ('n', 2)] 1 1")]
    [InlineData("{{ 'a\\nb\\r\\nc'.splitlines() }} {{ u[0] }} {{ u[-1] }} {{ u[6:] }} {{ u|length }} {{ u|list|length }}", "['a', 'b', 'c'] h 😀 😀 7 7")]
    public void MethodsBehaveAsPythons(string template, string expected) => Assert.Equal(expected, Jinja.Render(template, Data));

    /// <summary><c>range</c>, <c>dict</c>, <c>namespace</c>; <c>strftime_now</c> with Python's format codes on the injected clock.</summary>
    [Theory]
    [InlineData("{{ range(3) }} {{ range(3)|list }} {{ range(1, 4)|list }} {{ range(10, 0, -3)|list }} {{ range(0)|list }} {{ range(2, 10, 3)|length }}", "range(0, 3) [0, 1, 2] [1, 2, 3] [10, 7, 4, 1] [] 3")]
    [InlineData("{{ dict(a=1, b=2) }} {{ dict([('k', 'v')]) }} {{ dict(d, extra=true) }} {{ namespace(a=1) }}", "{'a': 1, 'b': 2} {'k': 'v'} {'k': 'v', 'n': 2, 'extra': True} <Namespace {'a': 1}>")]
    [InlineData("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S') }}|{{ strftime_now('%A %B %j %p %I %y %e %-d %a %U %W %w %%') }}", "26 Jul 2024|2024-07-26 14:05:09|Friday July 208 PM 02 24 26 26 Fri 29 30 5 %")]
    public void GlobalsBehaveAsInJinjaAndTransformers(string template, string expected) => Assert.Equal(expected, Jinja.Render(template, Data, Clocked));

    /// <summary>Undefined prints as nothing, has length 0, iterates as empty, is false and equals only undefined; a missing attribute or item is undefined.</summary>
    [Theory]
    [InlineData("[{{ x }}] {{ x|length }} [{{ x ~ 'a' }}] {{ x == none }} {{ x == y }} {{ 'a' in x }} [{{ x|default('d') }}] [{% for i in x %}never{% endfor %}] {{ not x }} {{ x|list }} [{{ x|string }}] [{{ x|join }}] [{{ x|trim }}] {{ [x] }}", "[] 0 [a] False True False [d] [] True [] [] [] [] [Undefined]")]
    [InlineData("[{{ d.zz }}] [{{ d['zz'] }}] [{{ l[9] }}] [{{ none_v.attr }}] [{{ none_v['k'] }}] [{{ 'x' if false }}] [{{ []|first }}] [{{ []|last }}] [{{ [] | max }}]", "[] [] [] [] [] [] [] [] []")]
    public void UndefinedBehavesAsJinjasDefault(string template, string expected) => Assert.Equal(expected, Jinja.Render(template, Data));
}
