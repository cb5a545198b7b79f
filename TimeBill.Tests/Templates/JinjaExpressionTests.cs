namespace TimeBill.Tests.Templates;

/// <summary>
/// Expressions: literals, operators and their precedence, comparisons, <c>in</c>, slices, attribute and item access, and how values print.
/// Expected strings follow Jinja's documented semantics (and Python's <c>str()</c>/<c>repr()</c> for printed values);
/// each was checked against Jinja2 3.1.6 running as transformers runs chat templates.
/// </summary>
public sealed class JinjaExpressionTests
{
    private const string Data = "{\"x\": {\"y\": 1, \"n\": 5, \"items\": \"I\"}, \"d\": {\"a\": 1, \"b\": 2}, \"l\": [1, 2, 3], \"s\": \"abcdef\"}";

    /// <summary>Each template mixes related expressions; printing follows Python (True, None, 1.0, 1e-07, repr inside containers).</summary>
    [Theory]
    [InlineData("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }}", "7 9 64 4")]
    [InlineData("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 / 2 }} {{ 6 / 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** -1 }} {{ 7.5 // 2 }}", "3 -4 3.5 3.0 2 -2 0.5 3.0")]
    [InlineData("{{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-7 }} {{ 1e16 }} {{ 1234567890123456.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ 3.0 }} {{ -0.0 }} {{ 2.5e-300 * 1e-10 }}", "2.5 0.30000000000000004 1e+20 1e-07 1e+16 1234567890123456.0 0.0001 1e-05 3.0 -0.0 2.5e-310")]
    [InlineData("{{ 'a' ~ 1 ~ none ~ true ~ 2.0 }}", "a1NoneTrue2.0")]
    [InlineData("{{ [1, 'a', none, true, 1.0, [2], {'k': 'v'}] }} {{ (1,) }} {{ (1, 2) }} {{ () }} {{ {'a': 1, 'b': [1, 2]} }}", "[1, 'a', None, True, 1.0, [2], {'k': 'v'}] (1,) (1, 2) () {'a': 1, 'b': [1, 2]}")]
    [InlineData("{{ \"it's\" }} {{ ['it\\'s', 'say \"hi\"', 'both \\' \"', 'nl\\n', 'tab\\t', 'back\\\\slash', 'é'] }}", "it's [\"it's\", 'say \"hi\"', 'both \\' \"', 'nl\\n', 'tab\\t', 'back\\\\slash', 'é']")]
    [InlineData("{{ 'x' if false }}|{{ 'y' if true else 'z' }}|{{ 'a' if none else 'b' if 0 else 'c' }}", "|y|c")]
    [InlineData("{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 'a' != 'a' }} {{ 2 >= 2.0 }}", "True False True True True True False True")]
    [InlineData("{{ 'ab' in 'cabd' }} {{ 1 in l }} {{ 'a' in d }} {{ 3 not in [1] }} {{ not 1 in [1] }} {{ (1, 2) in [(1, 2)] }}", "True True True True False True")]
    [InlineData("{{ none }} {{ None }} {{ True }} {{ false }} {{ 1 and 2 }} {{ 0 or 'x' }} {{ none and 1 }} {{ '' or none }} {{ not '' }}", "None None True False 2 x None None True")]
    [InlineData("{{ s[::-1] }} {{ l[1:] }} {{ l[-1] }} {{ l[:-1] }} {{ s[1:5:2] }} {{ l[5:] }} {{ l[::2] }} {{ s[-2:] }} {{ l[-10:2] }}", "fedcba [2, 3] 3 [1, 2] bd [] [1, 3] ef [1, 2]")]
    [InlineData("{{ x.y }}|{{ x['y'] }}|{{ x.z }}|{{ x['z'] }}|{{ l.0 }}|{{ l[7] }}", "1|1|||1|")]
    [InlineData("{{ -x.n }} {{ -3|abs }} {{ - 3 | abs }} {{ 'a' 'b' }} {{ \"\\x41\\u00e9\\101\\q\" }}", "-5 3 3 ab AéA\\q")]
    [InlineData("{{ 'ab' * 3 }} {{ [1] * 2 }} {{ 3 * 'x' }} {{ [1] + [2] }} {{ (1,) + (2,) }} {{ 1_000 }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1.5e3 }}", "ababab [1, 1] xxx [1, 2] (1, 2) 1000 31 15 5 1500.0")]
    [InlineData("{{ 1, 2 }} {{ 'a', }}", "(1, 2) ('a',)")]
    [InlineData("{{ '\\U0001F600' }} {{ '\\U0000d800' | length }} {{ '\\U00000041' }}", "\U0001F600 1 A")]
    public void ExpressionsEvaluateAndPrintAsInJinja(string template, string expected) => Assert.Equal(expected, Jinja.Render(template, Data));
}
