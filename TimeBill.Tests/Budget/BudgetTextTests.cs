using TimeBill.Core.Budget;

namespace TimeBill.Tests.Budget;

/// <summary>Budgets and overrun strategies as people type them: one reading for the command line, the chat command and the chat client.</summary>
public sealed class BudgetTextTests
{
    [Theory]
    [InlineData("300ms", 300)]
    [InlineData("1.5s", 1500)]
    [InlineData(" 250 ", 250)]
    [InlineData("2S", 2000)]
    [InlineData("86400s", 86_400_000)]
    public void BudgetsParse(string text, double milliseconds) => Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), BudgetText.ParseBudget(text));

    [Theory]
    [InlineData("0ms")]
    [InlineData("-5")]
    [InlineData("NaN")]
    [InlineData("1e400")]
    [InlineData("86401s")]
    [InlineData("fast")]
    [InlineData("")]
    public void BadBudgetsAreNamed(string text) => Assert.Contains($"'{text}'", Assert.Throws<ArgumentException>(() => BudgetText.ParseBudget(text)).Message);

    [Theory]
    [InlineData("kill", OverrunStrategy.Kill)]
    [InlineData("Kill", OverrunStrategy.Kill)]
    [InlineData("skip-next", OverrunStrategy.SkipNext)]
    [InlineData("SkipNext", OverrunStrategy.SkipNext)]
    public void OverrunsParseAndFormatBack(string text, OverrunStrategy expected)
    {
        Assert.Equal(expected, BudgetText.ParseOverrun(text));
        Assert.Equal(expected, BudgetText.ParseOverrun(BudgetText.Format(expected)));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("skip")]
    [InlineData("")]
    public void BadOverrunsAreNamed(string text) => Assert.Contains($"'{text}'", Assert.Throws<ArgumentException>(() => BudgetText.ParseOverrun(text)).Message);
}
