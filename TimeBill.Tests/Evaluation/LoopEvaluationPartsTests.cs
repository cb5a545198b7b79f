using System.Diagnostics;
using TimeBill.Cli.Commands;
using TimeBill.Cli.Evaluation;

namespace TimeBill.Tests.Evaluation;

/// <summary>The control-loop evaluation's parts: budgets, observation ranges, prompts and the idle-skipping clock.</summary>
public sealed class LoopEvaluationPartsTests
{
    [Fact]
    public void BudgetsAreMillisecondsOrPercentilesOfColdOrWarmLatency()
    {
        var budgets = LoopBudget.ParseList("warm-p50, cold-p100,250");
        double[] cold = [100, 200, 300], warm = [10, 20, 30];
        Assert.Equal([20, 300, 250], budgets.Select(b => b.Resolve(cold, warm)));
        Assert.Equal(["warm-p50", "cold-p100", "250 ms"], budgets.Select(b => b.Label));
    }

    [Theory]
    [InlineData("")]
    [InlineData("hot-p50")]
    [InlineData("warm-p0")]
    [InlineData("warm-p101")]
    [InlineData("-5")]
    public void BadBudgetsAreRejected(string text) => Assert.Throws<ArgumentException>(() => LoopBudget.ParseList(text));

    [Theory]
    [InlineData("20-80", 20, 80)]
    [InlineData("50", 50, 50)]
    [InlineData(" 3 - 4 ", 3, 4)]
    public void ObservationRangesParse(string text, int min, int max) => Assert.Equal((min, max), EvalLoopCommand.ParseRange(text));

    [Theory]
    [InlineData("80-20")]
    [InlineData("0-5")]
    [InlineData("a-b")]
    [InlineData("1-2-3")]
    public void BadObservationRangesAreRejected(string text) => Assert.Throws<ArgumentException>(() => EvalLoopCommand.ParseRange(text));

    [Fact]
    public void EveryTickIsTheSystemPromptThenAnObservation()
    {
        var prompts = LoopPrompts.Build(vocabulary: 512, bos: 1, systemTokens: 300, minObservation: 20, maxObservation: 80, jobs: 50, seed: 9);
        Assert.Equal(301, prompts.System.Length);
        Assert.Equal(1, prompts.System[0]);
        Assert.Equal(50, prompts.Prompts.Count);
        foreach (var prompt in prompts.Prompts.Append(prompts.Primer))
        {
            Assert.Equal(prompts.System, prompt[..301]);
            Assert.InRange(prompt.Length - 301, 20, 80);
            Assert.All(prompt[1..], id => Assert.InRange(id, 3, 511));
        }
        Assert.Equal(prompts.Prompts, LoopPrompts.Build(512, 1, 300, 20, 80, 50, 9).Prompts);
    }

    [Fact]
    public async Task TheIdleSkippingClockMovesOnInsteadOfSleeping()
    {
        var clock = new IdleSkippingClock();
        long start = clock.GetTimestamp();
        var wall = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(30), clock);
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(10), $"the delay slept {wall.Elapsed}");
        Assert.True(clock.GetElapsedTime(start) >= TimeSpan.FromSeconds(30));
    }
}
