using System.Diagnostics;
using System.Text.Json;
using TimeBill.Cli.Contention;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Cli;

/// <summary><c>timebill eval</c> with CPU-bound processes beside it, the burners' lifetime, and answers to bad arguments.</summary>
public sealed class EvalCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("timebill-eval-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ContentionRunsBurnersForTheWholeEvaluationAndStopsThemByPid()
    {
        string model = SharedAssets.Model("stories260K");
        string profile = Path.Combine(_folder, "profile.json");
        var (code, _, errors) = CliTests.Run("profile", "--model", model, "--max-prompt", "128", "--prefill-repetitions", "1", "--step-repetitions", "1",
            "--threads", "1", "--out", profile, "--json");
        Assert.True(code == 0, errors);

        string output = Path.Combine(_folder, "out");
        (code, var json, errors) = CliTests.Run("eval", "--model", model, "--profile", profile, "--prompts", "4", "--max-tokens", "8",
            "--percentiles", "50,25", "--contention", "2", "--threads", "1", "--out", output, "--json");
        Assert.True(code == 0, errors);
        var root = JsonDocument.Parse(json).RootElement;
        var contention = root.GetProperty("contention");
        Assert.Equal(2, contention.GetProperty("processes").GetInt32());
        int[] pids = contention.Ints("process_ids");
        Assert.Equal(2, pids.Distinct().Count());
        // Each burner kept (most of) a core busy while it ran: a burner that died at once would show about 0.
        Assert.All(contention.GetProperty("core_shares").EnumerateArray(), share => Assert.InRange(share.GetDouble(), 0.05, 1.5));
        Assert.All(pids, pid => Assert.False(IsRunning(pid), $"burner {pid} still runs after the evaluation"));

        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["p50", "p25"], rows.Select(r => r.GetProperty("budget_label").GetString()).Distinct());
        foreach (var row in rows)
        {
            int late = row.GetProperty("late").GetInt32();
            int phases = new[] { "late_prefill", "late_plan", "late_decode", "late_handoff" }.Sum(p => row.GetProperty(p).GetInt32());
            Assert.Equal(late, phases);
            Assert.InRange(late, 0, row.GetProperty("jobs").GetInt32());
        }
        Assert.Contains("Contention: 2 CPU-bound processes", File.ReadAllText(Path.Combine(output, "timebill-eval.md")));
        string[] jobs = File.ReadAllLines(Path.Combine(output, "timebill-eval-jobs.csv"));
        Assert.Contains("LatePhase", jobs[0]);
    }

    [Fact]
    public void ABurnerExitsByItselfWhenItsParentIsGone()
    {
        using var parent = Process.Start(new ProcessStartInfo("dotnet", "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        using var burner = Process.Start(CpuBurners.BurnerStart(parent.Id))!;
        try
        {
            parent.WaitForExit();
            Assert.True(burner.WaitForExit(TimeSpan.FromSeconds(30)), "the burner outlived its parent");
        }
        finally
        {
            if (!burner.HasExited) burner.Kill();
        }
    }

    [Theory]
    [InlineData("--contention", "-1")]
    [InlineData("--percentiles", "50,abc")]
    [InlineData("--percentiles", "0")]
    [InlineData("--percentiles", "50,50")]
    public void BadArgumentsExitWithCodeTwoAndAMessage(string option, string value)
    {
        var (code, _, errors) = CliTests.Run("eval", "--model", SharedAssets.Model("stories260K"), option, value);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", errors.Trim());
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
    }
}
