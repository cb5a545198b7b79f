using System.Text.Json;
using Microsoft.Extensions.AI;
using TimeBill.Core.Budget;
using TimeBill.Predictors.Chat;

namespace TimeBill.Tests.Chat;

/// <summary>The budget and overrun live in ChatOptions.AdditionalProperties as typed values, checked on the way in and out.</summary>
public sealed class TimeBillChatOptionsTests
{
    [Fact]
    public void BudgetAndOverrunRoundTripUnderTheirKeys()
    {
        var options = new ChatOptions().WithTimeBudget(TimeSpan.FromMilliseconds(250)).WithOverrun(OverrunStrategy.SkipNext);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.AdditionalProperties![TimeBillChatOptionsExtensions.TimeBudgetKey]);
        Assert.Equal(OverrunStrategy.SkipNext, options.AdditionalProperties[TimeBillChatOptionsExtensions.OverrunKey]);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.GetTimeBudget());
        Assert.Equal(OverrunStrategy.SkipNext, options.GetOverrun());
        Assert.Null(new ChatOptions().GetTimeBudget());
        Assert.Null(((ChatOptions?)null).GetOverrun());
        // A clone made by middleware keeps them.
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.Clone().GetTimeBudget());
    }

    [Fact]
    public void BadBudgetsAreRefusedNamingTheParameter()
    {
        var options = new ChatOptions();
        foreach (var bad in new[] { TimeSpan.Zero, TimeSpan.FromMilliseconds(-1), TimeSpan.FromDays(1) + TimeSpan.FromTicks(1), TimeSpan.MaxValue, TimeSpan.MinValue })
            Assert.Equal("budget", Assert.Throws<ArgumentOutOfRangeException>(() => options.WithTimeBudget(bad)).ParamName);
        Assert.Null(options.AdditionalProperties);
        options.WithTimeBudget(TimeSpan.FromDays(1));

        var smuggled = new ChatOptions { AdditionalProperties = new() { [TimeBillChatOptionsExtensions.TimeBudgetKey] = TimeSpan.Zero } };
        Assert.Throws<ArgumentOutOfRangeException>(() => smuggled.GetTimeBudget());
        var wrongType = new ChatOptions { AdditionalProperties = new() { [TimeBillChatOptionsExtensions.TimeBudgetKey] = 250.0 } };
        Assert.Contains(TimeBillChatOptionsExtensions.TimeBudgetKey, Assert.Throws<ArgumentException>(() => wrongType.GetTimeBudget()).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.WithOverrun((OverrunStrategy)7));
    }

    [Fact]
    public void OptionsReadBackFromJsonStillWork()
    {
        var options = JsonSerializer.Deserialize<ChatOptions>("""{"additionalProperties":{"timebill.budget":"00:00:00.5","timebill.overrun":"SkipNext"}}""",
            AIJsonUtilities.DefaultOptions)!;
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.GetTimeBudget());
        Assert.Equal(OverrunStrategy.SkipNext, options.GetOverrun());
        var bad = new ChatOptions { AdditionalProperties = new() { [TimeBillChatOptionsExtensions.OverrunKey] = "later" } };
        Assert.Contains("later", Assert.Throws<ArgumentException>(() => bad.GetOverrun()).Message);
        Assert.Equal(OverrunStrategy.SkipNext, new ChatOptions { AdditionalProperties = new() { [TimeBillChatOptionsExtensions.OverrunKey] = "skip-next" } }.GetOverrun());
    }
}
