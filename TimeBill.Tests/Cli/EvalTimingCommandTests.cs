using System.Text.Json;
using TimeBill.Predictors.ResponseLength;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Cli;

/// <summary><c>timebill eval-timing</c> end to end on a tiny shape (stories260K's config, random weights) and its answers to bad arguments.</summary>
public sealed class EvalTimingCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("timebill-eval-timing-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void TablesCsvPlotsAndJsonCoverEveryMethodAndBudget()
    {
        string shape = Path.Combine(SharedAssets.Model("stories260K"), "config.json");
        string profile = Path.Combine(_folder, "profile.json");
        var (code, _, errors) = CliTests.Run("profile", "--shape", shape, "--max-prompt", "48", "--prefill-repetitions", "1", "--step-repetitions", "1",
            "--threads", "1", "--out", profile, "--json");
        Assert.True(code == 0, errors);

        // A length source: two "stories" whose prefixes leave responses of 3..11 tokens.
        string dataset = Path.Combine(_folder, "lengths.jsonl");
        using (var file = DistillationDatasetFile.OpenForAppend(dataset, new DistillationSettings { ModelIdentity = "any" }))
        {
            file.Append(new DistilledStory(0, Enumerable.Range(1, 14).ToArray(), false, [3, 5, 8]));
            file.Append(new DistilledStory(1, Enumerable.Range(1, 12).ToArray(), false, [4, 9]));
        }

        string output = Path.Combine(_folder, "out");
        (code, var json, errors) = CliTests.Run("eval-timing", "--shape", shape, "--profile", profile, "--lengths", dataset, "--jobs", "2",
            "--min-prompt", "16", "--max-prompt", "40", "--threads", "1", "--out", output, "--json");
        Assert.True(code == 0, errors);
        var root = JsonDocument.Parse(json).RootElement;
        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(9, rows.Count); // vanilla, fixed α, TimeBill × three budgets
        Assert.Equal(["vanilla", "fixed α=0.5", "timebill"], rows.Select(r => r.GetProperty("method").GetString()).Distinct());
        Assert.All(rows, r => Assert.Equal(2, r.GetProperty("jobs").GetInt32()));
        Assert.All(root.Ints("response_lengths"), n => Assert.Contains(n, new[] { 11, 9, 6, 8, 3 }));
        Assert.All(root.Ints("prompt_lengths"), n => Assert.InRange(n, 16, 40));
        foreach (string name in new[] { "timing-eval.md", "timing-eval.csv", "timing-eval-jobs.csv", "timing-completion-vs-budget.png", "timing-overshoot-vs-budget.png" })
            Assert.True(File.Exists(Path.Combine(output, name)), name);
        Assert.StartsWith("Timing only", File.ReadAllText(Path.Combine(output, "timing-eval.md")));
    }

    [Theory]
    [InlineData("eval-timing", "--profile", "p.json", "--lengths", "x")]                                   // missing --shape
    [InlineData("eval-timing", "--shape", "SHAPE", "--profile", "/nonexistent.json", "--lengths", "x")]   // missing profile
    [InlineData("eval-timing", "--shape", "SHAPE", "--profile", "p.json", "--lengths", "x", "--jobs", "0")]
    public void BadArgumentsExitNonZeroWithAMessage(params string[] arguments)
    {
        string shape = Path.Combine(SharedAssets.Model("stories260K"), "config.json");
        var (code, output, errors) = CliTests.Run(arguments.Select(a => a == "SHAPE" ? shape : a).ToArray());
        Assert.NotEqual(0, code);
        Assert.False(string.IsNullOrWhiteSpace(output + errors));
    }
}
