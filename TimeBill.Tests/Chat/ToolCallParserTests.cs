using System.Text.Json;
using Microsoft.Extensions.AI;
using TimeBill.Predictors.Chat;

namespace TimeBill.Tests.Chat;

/// <summary>Function calls written as Qwen-style <c>&lt;tool_call&gt;</c> blocks become FunctionCallContent; anything else stays text.</summary>
public sealed class ToolCallParserTests
{
    private static int _ids;
    private static string NewId() => $"call-{Interlocked.Increment(ref _ids)}";

    [Fact]
    public void BlocksBecomeCallsAndTheTextAroundThemStays()
    {
        const string answer = "Moving it now.\n<tool_call>\n{\"name\": \"move_arm\", \"arguments\": {\"x\": 0.1, \"y\": -0.25}}\n</tool_call>\n<tool_call>\n{\"name\": \"open_gripper\", \"arguments\": \"{\\\"width\\\": 3}\"}\n</tool_call>";
        var contents = ToolCallParser.Parse(answer, NewId);
        Assert.Equal(3, contents.Count);
        Assert.Equal("Moving it now.", Assert.IsType<TextContent>(contents[0]).Text);
        var move = Assert.IsType<FunctionCallContent>(contents[1]);
        Assert.Equal("move_arm", move.Name);
        Assert.Equal(0.1, ((JsonElement)move.Arguments!["x"]!).GetDouble());
        Assert.Equal(-0.25, ((JsonElement)move.Arguments!["y"]!).GetDouble());
        var open = Assert.IsType<FunctionCallContent>(contents[2]);
        Assert.Equal(3, ((JsonElement)open.Arguments!["width"]!).GetInt32()); // arguments given as a JSON string
        Assert.NotEqual(move.CallId, open.CallId);
    }

    [Theory]
    [InlineData("<tool_call>{\"name\": \"move_arm\", \"arguments\": {\"x\": 0.1</tool_call>")] // cut JSON
    [InlineData("<tool_call>{\"arguments\": {}}</tool_call>")]                              // no name
    [InlineData("<tool_call>[1, 2]</tool_call>")]                                         // not an object
    [InlineData("<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>")]           // arguments not an object
    [InlineData("<tool_call>{\"name\": \"move_arm\"")]                                    // never closed (a deadline cut it)
    public void WhatIsNotACompleteCallStaysText(string answer)
    {
        var content = Assert.Single(ToolCallParser.Parse(answer, NewId));
        Assert.Equal(answer, Assert.IsType<TextContent>(content).Text);
    }

    [Fact]
    public void PlainTextIsOneTextContent() =>
        Assert.Equal("Hello.", Assert.IsType<TextContent>(Assert.Single(ToolCallParser.Parse("Hello.", NewId))).Text);
}
