using System.Text.Json;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Cli;

/// <summary><c>timebill eval-loop</c> end to end on stories260K with tiny settings, and its answers to bad arguments.</summary>
public sealed class EvalLoopCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("timebill-eval-loop-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void JsonTablesAndPlotsCoverEveryCellAndWarmJobsReuseTheSystemPrompt()
    {
        string model = SharedAssets.Model("stories260K");
        string profile = Path.Combine(_folder, "profile.json");
        var (code, _, errors) = CliTests.Run("profile", "--model", model, "--max-prompt", "96", "--prefill-repetitions", "1", "--step-repetitions", "1",
            "--threads", "1", "--out", profile, "--json");
        Assert.True(code == 0, errors);

        string output = Path.Combine(_folder, "out");
        (code, var json, errors) = CliTests.Run("eval-loop", "--model", model, "--profile", profile, "--system-tokens", "64", "--observation-tokens", "20-24",
            "--jobs", "3", "--max-tokens", "8", "--budgets", "warm-p90,200", "--threads", "1", "--out", output, "--json");
        Assert.True(code == 0, errors);
        var root = JsonDocument.Parse(json).RootElement;
        Assert.False(root.GetProperty("timing_only").GetBoolean());
        Assert.Equal(64, root.GetProperty("system_tokens").GetInt32());
        Assert.Equal([20, 24], root.Ints("observation_tokens"));
        var budgets = root.GetProperty("budgets").EnumerateArray().ToList();
        Assert.Equal(["warm-p90", "200 ms"], budgets.Select(b => b.GetProperty("label").GetString()));
        Assert.Equal(200, budgets[1].GetProperty("ms").GetDouble());
        Assert.Equal(3, root.GetProperty("cold_latencies_ms").GetArrayLength());
        // BOS + 64 system tokens: the cached whole blocks are the first 64 tokens.
        Assert.All(root.Ints("warm_reused_tokens"), n => Assert.Equal(64, n));

        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(2 * 2 * 2 * 3, rows.Count); // budgets × strategies × prefix states × methods
        Assert.Equal(["vanilla", "fixed α=0.5", "timebill"], rows.Select(r => r.GetProperty("method").GetString()).Distinct());
        foreach (var row in rows)
        {
            Assert.Equal(3, row.GetProperty("jobs").GetInt32());
            double rate = row.GetProperty("completion_rate").GetDouble();
            Assert.InRange(rate, row.GetProperty("completion_low").GetDouble(), row.GetProperty("completion_high").GetDouble());
            double score = row.GetProperty("score").GetDouble();
            Assert.InRange(score, row.GetProperty("score_low").GetDouble(), row.GetProperty("score_high").GetDouble());
        }
        // Warm jobs that ran restored the system prompt; cold ones restored nothing.
        var warmVanilla = rows.Where(r => r.GetProperty("prefix").GetString() == "warm" && r.GetProperty("method").GetString() == "vanilla"
            && r.GetProperty("budget_label").GetString() == "200 ms").ToList();
        Assert.All(warmVanilla, r => Assert.Equal(64, r.GetProperty("mean_reused_tokens").GetDouble()));
        var coldRan = rows.Where(r => r.GetProperty("prefix").GetString() == "cold" && r.GetProperty("mean_reused_tokens").ValueKind == JsonValueKind.Number).ToList();
        Assert.NotEmpty(coldRan);
        Assert.All(coldRan, r => Assert.Equal(0, r.GetProperty("mean_reused_tokens").GetDouble()));

        foreach (string name in new[] { "loop-eval.md", "loop-eval.csv", "loop-eval-jobs.csv", "loop-completion-vs-budget-kill.png", "loop-completion-vs-budget-skip-next.png",
            "loop-score-vs-budget-kill.png", "loop-alpha-vs-budget-skip-next.png" })
            Assert.True(File.Exists(Path.Combine(output, name)), name);
        var jobs = File.ReadAllLines(Path.Combine(output, "loop-eval-jobs.csv"));
        Assert.Equal(1 + 24 * 3, jobs.Length);
        Assert.StartsWith("Control loop on", File.ReadAllText(Path.Combine(output, "loop-eval.md")));
    }

    [Theory]
    [InlineData("eval-loop", "--model", "MODEL", "--observation-tokens", "80-20")]
    [InlineData("eval-loop", "--model", "MODEL", "--budgets", "hot-p50")]
    [InlineData("eval-loop", "--model", "MODEL", "--system-tokens", "1000")]          // does not fit a 512-token context
    [InlineData("eval-loop", "--model", "MODEL", "--jobs", "0")]
    [InlineData("eval-loop", "--model", "MODEL", "--shape", "MODEL")]
    public void BadArgumentsExitWithCodeTwoAndAMessage(params string[] arguments)
    {
        var (code, _, errors) = CliTests.Run(arguments.Select(a => a == "MODEL" ? SharedAssets.Model("stories260K") : a).ToArray());
        Assert.Equal(2, code);
        Assert.StartsWith("error:", errors.Trim());
    }
}
