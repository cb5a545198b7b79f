using Microsoft.Extensions.AI;
using TimeBill.Predictors.Chat;

namespace TimeBill.Tests.Chat;

/// <summary>The plain prompt format keeps every message's role and ends with the assistant's cue.</summary>
public sealed class PlainChatFormatTests
{
    [Fact]
    public void RolesSurviveInOrderAndTheAssistantCueComesLast()
    {
        string prompt = PlainChatFormat.Format(
        [
            new ChatMessage(ChatRole.System, "Tell short stories."),
            new ChatMessage(ChatRole.User, "Once upon a time"),
            new ChatMessage(ChatRole.Assistant, "there was a cat."),
            new ChatMessage(new ChatRole("narrator"), "Go on."),
        ]);
        Assert.Equal("System: Tell short stories.\nUser: Once upon a time\nAssistant: there was a cat.\nNarrator: Go on.\nAssistant:", prompt);
    }

    [Fact]
    public void InstructionsComeFirstAsASystemMessage()
    {
        Assert.Equal("System: Be brief.\nUser: hi\nAssistant:", PlainChatFormat.Format([new ChatMessage(ChatRole.User, "hi")], "Be brief."));
        Assert.Equal("System: Be brief.\nAssistant:", PlainChatFormat.Format([], "Be brief."));
    }

    [Fact]
    public void SeveralTextPartsJoinAndOtherContentIsRefusedByType()
    {
        var parts = new ChatMessage(ChatRole.User, [new TextContent("Once "), new TextContent("upon")]);
        Assert.Equal("User: Once upon\nAssistant:", PlainChatFormat.Format([parts]));

        var image = new ChatMessage(ChatRole.User, [new TextContent("look"), new DataContent(new byte[] { 1, 2 }, "image/png")]);
        Assert.Contains(nameof(DataContent), Assert.Throws<NotSupportedException>(() => PlainChatFormat.Format([image])).Message);
        var call = new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c1", "lookup")]);
        Assert.Contains(nameof(FunctionCallContent), Assert.Throws<NotSupportedException>(() => PlainChatFormat.Format([call])).Message);
        var result = new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c1", 42)]);
        Assert.Contains(nameof(FunctionResultContent), Assert.Throws<NotSupportedException>(() => PlainChatFormat.Format([result])).Message);
    }

    [Fact]
    public void NothingToAnswerIsAnError() => Assert.Throws<ArgumentException>(() => PlainChatFormat.Format([]));
}
