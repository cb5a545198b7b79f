using System.Text;
using TimeBill.Core.Constraints;

namespace TimeBill.Tests.Constraints;

/// <summary>The schema compiler: clear errors for what it cannot honour, and automata that accept exactly the policy's spellings of valid values.</summary>
public sealed class JsonSchemaCompilerTests
{
    [Theory]
    [InlineData("""{"type":"string","pattern":"a+"}""", "'pattern'", "$.pattern")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","format":"email"}}}""", "'format'", "$.properties.a.format")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":true}""", "additionalProperties", "$.additionalProperties")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"}},"required":["b"]}""", "'b'", "$.required")]
    [InlineData("""{"type":"array","items":{"type":"integer"},"minItems":3,"maxItems":2}""", "maxItems", "$")]
    [InlineData("""{"type":"array"}""", "items", "$")]
    [InlineData("""{"type":"strin"}""", "'strin'", "$.type")]
    [InlineData("""{"type":"string","minimum":3}""", "'minimum'", "$.minimum")]
    [InlineData("""{"type":"integer","minimum":5,"maximum":4}""", "minimum", "$")]
    [InlineData("""{"type":"array","items":{"$ref":"#"}}""", "'$ref'", "$.items.$ref")]
    [InlineData("""{"anyOf":[{"type":"integer"},{"oneOf":[]}]}""", "'oneOf'", "$.anyOf[1].oneOf")]
    [InlineData("""{"description":"nothing"}""", "needs type", "$")]
    [InlineData("""{"type":"integer","enum":["a"]}""", "enum", "$")]
    [InlineData("""[1]""", "JSON object", "$")]
    public void UnsupportedOrInvalidSchemasNameTheKeywordAndPath(string schema, string keyword, string path)
    {
        var e = Assert.Throws<ArgumentException>(() => OutputConstraint.JsonSchema(schema));
        Assert.Contains(keyword, e.Message);
        Assert.Contains($"at {path}", e.Message);
    }

    [Fact]
    public void NotJsonIsAnArgumentException() =>
        Assert.Contains("not valid JSON", Assert.Throws<ArgumentException>(() => OutputConstraint.JsonSchema("{type:")).Message);

    [Theory]
    [InlineData("""{"type":"integer","minimum":-12,"maximum":107}""", "-12,-9,-1,0,7,10,99,100,107", "-13,108,-0,01,1.0,1e2, 5,+5,")]
    [InlineData("""{"type":"integer","minimum":5}""", "5,9,10,123456789", "4,0,-1,05")]
    [InlineData("""{"type":"integer","maximum":-3}""", "-3,-4,-10,-99999", "-2,0,3")]
    [InlineData("""{"type":"number","minimum":0.5,"maximum":2.5}""", "1,2,1.25,1.999", "0.5,0,3,2.5,0.75,2.25,1e0")]
    [InlineData("""{"type":"number"}""", "0,-0,1.5,-2e10,3E+2,0.001e-3", "01,1.,.5,1e,--1,+1")]
    [InlineData("""{"type":"boolean"}""", "true,false", "True,tru,truee")]
    [InlineData("""{"enum":["a b",3,null,true]}""", "\"a b\",3,null,true", "\"a\",false,4")]
    [InlineData("""{"type":"array","items":{"type":"integer","minimum":0,"maximum":9},"minItems":1,"maxItems":3}""", "[1];[1,2];[1,2,3]", "[];[1,2,3,4];[1 ];[ 1];[1,]", ';')]
    [InlineData("""{"type":"array","items":{"type":"null"}}""", "[];[null];[null,null,null,null]", "[,];[null null];[null,]", ';')]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"boolean"},"c":{"type":"null"}},"required":["b"]}""",
        """{"b":true};{"a":1,"b":false};{"b":true,"c":null};{"a":-5,"b":true,"c":null}""",
        """{};{"a":1};{"b":true,"a":1};{ "b":true};{"b":true,};{"b":true,"d":1}""", ';')]
    [InlineData("""{"anyOf":[{"type":"integer","minimum":0,"maximum":3},{"type":"string","enum":["x"]}]}""", "0,3,\"x\"", "4,\"y\",x")]
    public void AutomataAcceptExactlyThePolicysSpellingsOfValidValues(string schema, string valid, string invalid, char separator = ',')
    {
        var automaton = OutputConstraint.JsonSchema(schema).Automaton;
        foreach (string text in valid.Split(separator))
            Assert.True(automaton.Accepts(Encoding.UTF8.GetBytes(text)), $"should accept {text}");
        foreach (string text in invalid.Split(separator))
            Assert.False(automaton.Accepts(Encoding.UTF8.GetBytes(text)), $"should refuse {text}");
    }

    [Fact]
    public void StringsTakeWellFormedUtf8AndEscapesButNoLoneSurrogatesOrControlCharacters()
    {
        var automaton = OutputConstraint.JsonSchema("""{"type":"string"}""").Automaton;
        foreach (string text in new[] { "\"\"", "\"héllo 世界 🙂\"", "\"a\\\"b\\\\c\\/\\n\\t\\u00e9\\uFFFF\"" })
            Assert.True(automaton.Accepts(Encoding.UTF8.GetBytes(text)), text);
        foreach (string text in new[] { "\"a", "\"\n\"", "\"\\x\"", "\"\\ud800\"", "\"\\u12\"", "'a'" })
            Assert.False(automaton.Accepts(Encoding.UTF8.GetBytes(text)), text);
        Assert.False(automaton.Accepts([(byte)'"', 0xC0, 0xAF, (byte)'"'])); // overlong '/'
        Assert.False(automaton.Accepts([(byte)'"', 0xED, 0xA0, 0x80, (byte)'"'])); // an encoded surrogate
        Assert.False(automaton.Accepts([(byte)'"', 0xE4, 0xB8, (byte)'"'])); // a cut character
    }

    [Fact]
    public void ChoicesAcceptExactlyTheirStrings()
    {
        var automaton = OutputConstraint.OneOf(["yes", "no", "not sure"]).Automaton;
        Assert.All(new[] { "yes", "no", "not sure" }, c => Assert.True(automaton.Accepts(Encoding.UTF8.GetBytes(c))));
        Assert.All(new[] { "ye", "nos", "not", "", "Yes" }, c => Assert.False(automaton.Accepts(Encoding.UTF8.GetBytes(c))));
        Assert.Throws<ArgumentException>(() => OutputConstraint.OneOf([]));
        Assert.Equal(3, OutputConstraint.OneOf(["ab", "cb"]).Automaton.StateCount); // minimal: start, after a or c, after b
    }

    [Fact]
    public void EquivalentPiecesShareStates()
    {
        // An array's first and later items are one state set after minimization: [true,true,...] needs 11 states at most.
        var automaton = OutputConstraint.JsonSchema("""{"type":"array","items":{"type":"boolean"}}""").Automaton;
        Assert.True(automaton.StateCount <= 11, $"{automaton.StateCount} states");
    }

    [Fact]
    public void AnyJsonObjectIsNestedNoDeeperThanItsLimit()
    {
        var automaton = OutputConstraint.JsonObject(2).Automaton;
        foreach (string text in new[] { "{}", """{"a":1,"b":[true,null,"x"],"c":{"d":-1.5e3}}""" })
            Assert.True(automaton.Accepts(Encoding.UTF8.GetBytes(text)), text);
        foreach (string text in new[] { "[]", "1", """{"a":{"b":{}}}""", """{"a":[[]]}""", """{"a" :1}""" })
            Assert.False(automaton.Accepts(Encoding.UTF8.GetBytes(text)), text);
    }
}
