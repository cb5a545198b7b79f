using System.Text.Json;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Tests.Cli;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.ExecutionTime;

public sealed class ProfileCommandTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "timebill-profile-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void JsonSummaryProfileFileAndPlotAreWritten()
    {
        string profilePath = Path.Combine(_folder, "stories.json");
        var (code, output, errors) = CliTests.Run("profile", "--model", SharedAssets.Model("stories260K"), "--max-prompt", "48",
            "--prefill-repetitions", "1", "--step-repetitions", "1", "--threads", "1", "--out", profilePath, "--json");
        Assert.True(code == 0, errors);

        var json = JsonDocument.Parse(output).RootElement;
        Assert.StartsWith("llama-L5-d64-", json.GetProperty("model_identity").GetString());
        Assert.Equal(1, json.GetProperty("threads").GetInt32());
        var coefficients = json.GetProperty("coefficients");
        Assert.True(coefficients.GetProperty("prefill").GetProperty("c").GetDouble() >= 0);
        Assert.Equal(5, coefficients.GetProperty("layered_step").GetProperty("layer_count").GetInt32());
        Assert.True(json.GetProperty("quality").GetProperty("prefill").TryGetProperty("held_out_mape_percent", out _));
        Assert.True(json.GetProperty("run_seconds").GetDouble() > 0);

        var profile = ExecutionTimeProfile.Load(profilePath);
        Assert.Equal(json.GetProperty("model_identity").GetString(), profile.Key.ModelIdentity);
        Assert.Equal(48, profile.Measurements.Prefill.Max(m => m.PromptLength));
        string plot = json.GetProperty("plot_path").GetString()!;
        Assert.True(new FileInfo(plot).Length > 1000, "the plot PNG should exist");
    }

    [Theory]
    [InlineData("profile")]                                                               // neither --model nor --shape
    [InlineData("profile", "--model", "MODEL", "--shape", "x.json")]                      // both
    [InlineData("profile", "--shape", "/nonexistent/config.json")]                         // missing file
    [InlineData("profile", "--model", "MODEL", "--clock", "sundial")]
    public void BadArgumentsExitNonZeroWithAMessage(params string[] arguments)
    {
        var (code, output, errors) = CliTests.Run(arguments.Select(a => a == "MODEL" ? SharedAssets.Model("stories260K") : a).ToArray());
        Assert.NotEqual(0, code);
        Assert.False(string.IsNullOrWhiteSpace(output + errors));
    }
}
