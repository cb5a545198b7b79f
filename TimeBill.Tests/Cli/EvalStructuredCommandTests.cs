using System.Text.Json;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Cli;

/// <summary><c>timebill eval-structured</c> end to end on stories260K with a handful of jobs, and its answers to bad arguments.</summary>
public sealed class EvalStructuredCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("timebill-eval-structured-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void TablesAndPlotsCoverEveryCellAndGenerousBudgetsWithClosingGiveOnlyValidAnswers()
    {
        string output = Path.Combine(_folder, "out");
        var (code, json, errors) = CliTests.Run("eval-structured", "--model", SharedAssets.Model("stories260K"), "--jobs", "4", "--reference-jobs", "4",
            "--budgets", "4,2", "--max-tokens", "64", "--threads", "1", "--out", output, "--json");
        Assert.True(code == 0, errors);
        var root = JsonDocument.Parse(json).RootElement;
        Assert.Equal("robot-command.json", root.GetProperty("settings").GetProperty("schema").GetString());
        Assert.Equal(4, root.GetProperty("reference_latencies_ms").GetArrayLength());
        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(2 * 2, rows.Count); // budgets × closing on/off
        foreach (var row in rows)
        {
            Assert.Equal(4, row.GetProperty("jobs").GetInt32());
            double share = row.GetProperty("valid_share").GetDouble();
            Assert.InRange(share, row.GetProperty("valid_low").GetDouble(), row.GetProperty("valid_high").GetDouble());
            Assert.True(row.GetProperty("parse_share").GetDouble() >= share);
        }
        // With closing on, every answer parses and validates (a job the estimator says cannot finish is dropped with none).
        var closing = rows.Where(r => r.GetProperty("closing").GetString() == "on").ToList();
        Assert.Contains(closing, r => r.GetProperty("answered_share").GetDouble() > 0);
        foreach (var row in closing.Where(r => r.GetProperty("answered_share").GetDouble() > 0))
            Assert.Equal(1.0, row.GetProperty("valid_of_answered").GetDouble());

        foreach (string name in new[] { "structured-eval.md", "structured-eval.csv", "structured-eval-jobs.csv", "structured-eval.json",
            "structured-valid-vs-budget.png", "structured-valid-jobs-vs-budget.png", "structured-completion-vs-budget.png" })
            Assert.True(File.Exists(Path.Combine(output, name)), name);
        Assert.Equal(1 + 4 * 4, File.ReadAllLines(Path.Combine(output, "structured-eval-jobs.csv")).Length);
    }

    [Theory]
    [InlineData("--budgets", "2,-1", "--budgets")]
    [InlineData("--jobs", "0", "--jobs")]
    [InlineData("--schema", "/nonexistent/schema.json", "does not exist")]
    [InlineData("--max-tokens", "8", "below the shortest answer")]
    public void BadArgumentsAreNamed(string option, string value, string expected)
    {
        var (code, _, errors) = CliTests.Run("eval-structured", "--model", SharedAssets.Model("stories260K"), option, value, "--out", Path.Combine(_folder, "bad"));
        Assert.NotEqual(0, code);
        Assert.Contains(expected, errors);
    }
}
