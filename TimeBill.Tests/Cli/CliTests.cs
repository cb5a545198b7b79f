using System.Diagnostics;
using System.Text.Json;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Cli;

/// <summary>The command line's JSON contract and its answers to bad arguments.</summary>
public sealed class CliTests
{
    internal static (int ExitCode, string Output, string Errors) Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "timebill.dll"));
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(300_000), "timebill did not finish within five minutes");
        return (process.ExitCode, output.Result, errors.Result);
    }

    [Fact]
    public void GenerateJsonHasTheDocumentedFieldsAndTheReferenceContinuation()
    {
        var reference = SharedAssets.Reference("stories260K").GetProperty("cases")[0];
        var (code, output, errors) = Run("generate", "--model", SharedAssets.Model("stories260K"), "--prompt", "Once upon a time", "--max-tokens", "30", "--json");
        Assert.True(code == 0, errors);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal(reference.Ints("input_ids"), json.Ints("prompt_ids"));
        Assert.Equal(reference.Ints("greedy_continuation_ids")[..30], json.Ints("ids"));
        Assert.Equal("max_tokens", json.GetProperty("stop_reason").GetString());
        Assert.True(json.GetProperty("prefill_ms").GetDouble() > 0);
        Assert.True(json.GetProperty("decode_ms").GetDouble() > 0);
        Assert.StartsWith(", there was a little girl", json.GetProperty("text").GetString());
    }

    [Fact]
    public void GenerateWithoutAModelUsesTheBundledStories260K()
    {
        var reference = SharedAssets.Reference("stories260K").GetProperty("cases")[0];
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "models", "stories260K", "model.safetensors")), "the bundled model is not beside timebill.dll");
        var (code, output, errors) = Run("generate", "--prompt", "Once upon a time", "--max-tokens", "30", "--json");
        Assert.True(code == 0, errors);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal(reference.Ints("greedy_continuation_ids")[..30], json.Ints("ids"));
    }

    [Fact]
    public void BenchJsonReportsThroughput()
    {
        var (code, output, errors) = Run("bench", "--model", SharedAssets.Model("stories260K"), "--prompt-tokens", "16", "--gen-tokens", "8", "--runs", "2", "--json");
        Assert.True(code == 0, errors);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.True(json.GetProperty("prefill_tokens_per_s").GetDouble() > 0);
        Assert.True(json.GetProperty("decode_tokens_per_s").GetDouble() > 0);
    }

    [Fact]
    public void BenchTimesAWarmPrefillBesideTheColdOne()
    {
        var (code, output, errors) = Run("bench", "--model", SharedAssets.Model("stories260K"), "--prompt-tokens", "40", "--gen-tokens", "2", "--runs", "1",
            "--cached-tokens", "32", "--json");
        Assert.True(code == 0, errors);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal(32, json.GetProperty("cached_tokens").GetInt32());
        Assert.True(json.GetProperty("warm_prefill_ms").GetDouble() > 0);
        Assert.True(json.GetProperty("warm_to_cold_prefill").GetDouble() > 0);
    }

    [Theory]
    [InlineData("generate", "--max-tokens", "4")]                              // missing --prompt
    [InlineData("forward", "--model", "/nonexistent", "--ids", "1,2")]         // bad folder
    [InlineData("forward", "--model", "MODEL", "--ids", "1,x")]                // bad id
    [InlineData("bench", "--model", "MODEL", "--shape", "MODEL", "--prompt-tokens", "4")] // both --model and --shape
    [InlineData("bench", "--model", "MODEL", "--prompt-tokens", "40", "--cached-tokens", "20")] // not whole prefix-cache blocks
    [InlineData("no-such-command")]
    public void BadArgumentsExitNonZeroWithAMessage(params string[] arguments)
    {
        var (code, output, errors) = Run(arguments.Select(a => a == "MODEL" ? SharedAssets.Model("stories260K") : a).ToArray());
        Assert.NotEqual(0, code);
        Assert.False(string.IsNullOrWhiteSpace(output + errors));
    }
}
