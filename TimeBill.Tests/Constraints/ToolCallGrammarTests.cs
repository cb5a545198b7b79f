using System.Text;
using System.Text.Json;
using TimeBill.Core.Constraints;
using TimeBill.Tests.Tokenization;

namespace TimeBill.Tests.Constraints;

/// <summary>The tool-call grammar: which answers it accepts in each mode, and its errors for bad tools.</summary>
public sealed class ToolCallGrammarTests
{
    private static readonly ToolDeclaration MoveArm = new("move_arm", JsonDocument.Parse("""
        {"type":"object","properties":{"x":{"type":"number","minimum":-1,"maximum":1},"y":{"type":"number"},"speed":{"type":"integer","minimum":1,"maximum":10}},
         "required":["x","y","speed"]}
        """).RootElement);
    private static readonly ToolDeclaration Stop = new("stop", JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement);

    private const string ArmCall = "<tool_call>\n{\"name\": \"move_arm\", \"arguments\": {\"x\":0.5,\"y\":-2,\"speed\":3}}\n</tool_call>";
    private const string StopCall = "<tool_call>\n{\"name\": \"stop\", \"arguments\": {}}\n</tool_call>";

    private static bool Accepts(OutputConstraint constraint, string text) => constraint.Automaton.Accepts(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void RequiredAcceptsOnlyCallsOfTheToolsWithValidArguments()
    {
        var one = OutputConstraint.ToolCalls([MoveArm, Stop], ToolCallMode.Required);
        Assert.True(Accepts(one, ArmCall));
        Assert.True(Accepts(one, StopCall));
        Assert.False(Accepts(one, ""));
        Assert.False(Accepts(one, "Sure. " + ArmCall));
        Assert.False(Accepts(one, ArmCall + "\n" + StopCall));
        Assert.False(Accepts(one, ArmCall.Replace("move_arm", "move_leg")));
        Assert.False(Accepts(one, ArmCall.Replace("0.5", "1.5"))); // x above its maximum
        Assert.False(Accepts(one, ArmCall.Replace(",\"speed\":3", ""))); // a required argument left out
        Assert.False(Accepts(one, ArmCall.Replace("\"speed\":3", "\"speed\":3,\"force\":1")));

        var several = OutputConstraint.ToolCalls([MoveArm, Stop], ToolCallMode.Required, multiple: true);
        Assert.True(Accepts(several, ArmCall + "\n" + StopCall + "\n" + ArmCall));
        Assert.False(Accepts(several, ArmCall + "\n" + StopCall + "\nDone."));
    }

    [Fact]
    public void AutoAcceptsTextAndTextEndingInCallsButNoOpenedTagThatIsNotACall()
    {
        var auto = OutputConstraint.ToolCalls([MoveArm, Stop], ToolCallMode.Auto);
        Assert.True(Accepts(auto, ""));
        Assert.True(Accepts(auto, "The arm is already there. Ünïcödé ✓ 🤖\n\tdone"));
        Assert.True(Accepts(auto, "Moving it.\n" + ArmCall));
        Assert.True(Accepts(auto, ArmCall));
        // Near misses of the tag are text; the tag itself can only open a call.
        Assert.True(Accepts(auto, "<tool_<tool_cal <tool_call <tool_call_> </tool_call>"));
        Assert.False(Accepts(auto, "I will call <tool_call> later."));
        Assert.False(Accepts(auto, "<<tool_call>\n{\"name\": \"stop\", \"arguments\": {}}"));
        Assert.True(Accepts(auto, "<<tool_call>\n{\"name\": \"stop\", \"arguments\": {}}\n</tool_call>"));
        Assert.False(Accepts(auto, ArmCall + "\nThat is all."));
        Assert.False(Accepts(auto, "bad byte \u0001"));
        Assert.False(Accepts(auto, ArmCall + "\n" + StopCall));
        Assert.True(Accepts(OutputConstraint.ToolCalls([MoveArm, Stop], ToolCallMode.Auto, multiple: true), "Both.\n" + ArmCall + "\n" + StopCall));
    }

    [Fact]
    public void ClosingFromTheMiddleOfTextOrACallTakesAFewTokensOfQwen3()
    {
        var tokenizer = SharedTokenizers.Get("tiny-random-qwen3");
        var lifted = OutputConstraint.ToolCalls([MoveArm, Stop], ToolCallMode.Auto).For(tokenizer);
        var automaton = lifted.Automaton;
        Assert.Equal(0, lifted.MinTokensToAccept(automaton.Start)); // text is a complete answer
        int inCall = automaton.Next(automaton.Start, Encoding.UTF8.GetBytes("Ok <tool_call>\n{\"name\": \"move_arm\", \"arguments\": {\"x\":0."));
        Assert.InRange(lifted.MinTokensToAccept(inCall), 1, 20);
        // <tool_call> is one token of Qwen3's vocabulary, and it is allowed where text may open a call.
        int tag = tokenizer.Encode("<tool_call>").Single();
        Assert.True(lifted.Next(automaton.Start, tag) >= 0);
    }

    [Fact]
    public void BadToolsAreNamed()
    {
        var dated = new ToolDeclaration("schedule", JsonDocument.Parse("""{"type":"object","properties":{"when":{"type":"string","format":"date-time"}}}""").RootElement);
        var error = Assert.Throws<ArgumentException>(() => OutputConstraint.ToolCalls([Stop, dated]));
        Assert.Contains("tool 'schedule'", error.Message);
        Assert.Contains("'format'", error.Message);
        Assert.Contains("$.properties.when.format", error.Message);

        var scalar = new ToolDeclaration("count", JsonDocument.Parse("""{"type":"integer"}""").RootElement);
        Assert.Contains("tool 'count'", Assert.Throws<ArgumentException>(() => OutputConstraint.ToolCalls([scalar])).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => OutputConstraint.ToolCalls([Stop, Stop])).Message);
        Assert.Throws<ArgumentException>(() => OutputConstraint.ToolCalls([]));
        Assert.Throws<ArgumentException>(() => OutputConstraint.ToolCalls([Stop with { Name = "" }]));
    }
}
