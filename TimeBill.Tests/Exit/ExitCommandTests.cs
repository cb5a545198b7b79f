using System.Text.Json;
using TimeBill.Tests.Cli;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Exit;

/// <summary>The eval-exit command's JSON contract, output files and bad input (runs the built CLI).</summary>
[Collection(ModelCollection.Name)]
public sealed class ExitCommandTests(ModelFixture models) : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "timebill-exit-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private string SaveHeads()
    {
        Directory.CreateDirectory(_folder);
        string path = Path.Combine(_folder, "heads.json");
        SmallExitHeads.Get(models.Get("stories260K"), models.StoriesTokenizer).Model.Save(path);
        return path;
    }

    [Fact]
    public void EvalExitJsonHasOneRowPerMethodAndWritesTableCsvAndPlot()
    {
        string heads = SaveHeads();
        var (code, output, errors) = CliTests.Run("eval-exit", "--model", SharedAssets.Model("stories260K"), "--exits", heads,
            "--prompts", "1", "--steps", "8", "--thresholds", "0.5", "--greedy-only", "--threads", "1", "--out", _folder, "--json");
        Assert.True(code == 0, errors);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.False(json.GetProperty("trained").GetBoolean());
        var rows = json.GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal(["full", "classic", "predictive"], rows.Select(r => r.GetProperty("method").GetString()));
        Assert.All(rows, r => Assert.Equal("greedy", r.GetProperty("decoding").GetString()));
        Assert.Equal(5.0, rows[0].GetProperty("layers_per_token").GetDouble());
        Assert.Equal(1.0, rows[0].GetProperty("token_agreement").GetDouble());
        Assert.All(rows, r => Assert.InRange(r.GetProperty("layers_per_token").GetDouble(), 1.0, 5.0));
        Assert.True(new FileInfo(Path.Combine(_folder, "exit-eval.png")).Length > 1000);
        Assert.Contains("| greedy | predictive | 0.5 |", File.ReadAllText(Path.Combine(_folder, "exit-eval.md")));
        Assert.Equal(4, File.ReadAllLines(Path.Combine(_folder, "exit-eval.csv")).Length);
    }

    [Theory]
    [InlineData("--thresholds", "abc")]
    [InlineData("--prompts", "0")]
    [InlineData("--exits", "GARBAGE")]
    public void BadInputExitsNonZeroWithAMessage(string option, string value)
    {
        Directory.CreateDirectory(_folder);
        if (value == "GARBAGE")
        {
            value = Path.Combine(_folder, "garbage.json");
            File.WriteAllText(value, "{\"format\":\"something else\"}");
        }
        var (code, output, errors) = CliTests.Run("eval-exit", "--model", SharedAssets.Model("stories260K"), option, value,
            "--out", _folder, "--steps", "4", "--json");
        Assert.NotEqual(0, code);
        Assert.False(string.IsNullOrWhiteSpace(output + errors));
    }
}
