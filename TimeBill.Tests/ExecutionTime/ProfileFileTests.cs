using System.Text.Json;
using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Tests.ExecutionTime;

public sealed class ProfileFileTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "timebill-ete-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static ExecutionTimeProfile Measure()
    {
        var clock = new ManualClock();
        return new ExecutionTimeProfiler(clock).Run(new FakeProfilingTarget(clock), new ExecutionTimeProfilerOptions
        {
            MaxPromptLength = 256, PrefillGridPoints = 8, KvGridPoints = 5, LayerGridPoints = 2,
            PrefillRepetitions = 2, DecodeRepetitions = 2, WarmUpRounds = 0,
        });
    }

    [Fact]
    public void SavedProfileLoadsBackIdentical()
    {
        var profile = Measure();
        string path = Path.Combine(_folder, "nested", "profile.json");
        profile.Save(path);
        var loaded = ExecutionTimeProfile.Load(path);

        Assert.Equal(path, loaded.SourcePath);
        Assert.Equal(profile.ToJson(), loaded.ToJson());
        Assert.Equal(profile.Coefficients, loaded.Coefficients);
        Assert.Equal(profile.Key, loaded.Key);
        Assert.Equal(profile.Measurements.Prefill.Select(m => m.SamplesMilliseconds.ToArray()),
            loaded.Measurements.Prefill.Select(m => m.SamplesMilliseconds.ToArray()));
    }

    [Fact]
    public void AProfileWrittenBeforeThePrefillBlockTermLoadsAsThePlainQuadratic()
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(Measure().ToJson())!;
        var prefill = json["fit"]!["coefficients"]!["prefill"]!.AsObject();
        prefill.Remove("d");
        prefill.Remove("query_block");
        var loaded = ExecutionTimeProfile.FromJson(json.ToJsonString());
        Assert.Equal(0, loaded.Coefficients.Prefill.D);
        Assert.Equal(0, loaded.Coefficients.Prefill.QueryBlock);
        Assert.Equal(prefill["a"]!.GetValue<double>(), loaded.Coefficients.Prefill.A);
    }

    [Fact]
    public void FileUsesSnakeCaseAndCarriesItsKey()
    {
        using var doc = JsonDocument.Parse(Measure().ToJson());
        var root = doc.RootElement;
        Assert.Equal(ExecutionTimeProfile.CurrentFormatVersion, root.GetProperty("format_version").GetInt32());
        var key = root.GetProperty("key");
        Assert.Equal("fake-llama-L6", key.GetProperty("model_identity").GetString());
        Assert.Equal(2, key.GetProperty("threads").GetInt32());
        Assert.False(string.IsNullOrEmpty(key.GetProperty("machine").GetProperty("cpu_model").GetString()));
        var coefficients = root.GetProperty("fit").GetProperty("coefficients");
        Assert.True(coefficients.GetProperty("prefill").GetProperty("a").GetDouble() > 0);
        Assert.Equal(0, coefficients.GetProperty("prefill").GetProperty("query_block").GetInt32());
        Assert.True(root.GetProperty("fit").GetProperty("prefill").TryGetProperty("held_out_mape_percent", out _));
        Assert.True(root.GetProperty("measurements").GetProperty("decode_steps").GetArrayLength() > 0);
    }

    [Fact]
    public void UsingAProfileWithAnotherModelOrThreadCountFailsNamingEveryDifference()
    {
        var profile = Measure();
        string path = Path.Combine(_folder, "p.json");
        profile.Save(path);
        var loaded = ExecutionTimeProfile.Load(path);

        loaded.EnsureMatches("fake-llama-L6", "float32", 2); // same key: no exception

        var e = Assert.Throws<ProfileMismatchException>(() => loaded.EnsureMatches("llama-L30-d576", "float32", 4));
        Assert.Contains(path, e.Message);
        Assert.Contains("model: profile has 'fake-llama-L6', in use 'llama-L30-d576'", e.Message);
        Assert.Contains("threads: profile has '2', in use '4'", e.Message);
        Assert.DoesNotContain("dtype", e.Message);
        Assert.Equal(2, e.Differences.Count);

        var otherMachine = profile.Key with { Machine = profile.Key.Machine with { CpuModel = "Other CPU", LogicalCores = 64 } };
        var m = Assert.Throws<ProfileMismatchException>(() => profile.EnsureMatches(otherMachine));
        Assert.Contains("cpu", m.Message);
        Assert.Contains("cores", m.Message);

        // An operating-system patch or another runtime is worth a warning, not a refusal.
        var patched = profile.Key with { Machine = profile.Key.Machine with { OperatingSystem = "Linux 6.99-patched", DotNetVersion = ".NET 10.0.99" } };
        var minor = profile.EnsureMatches(patched);
        Assert.Equal(2, minor.Count);
        Assert.Contains(minor, d => d.StartsWith("os:"));
        Assert.Contains(minor, d => d.StartsWith("dotnet:"));
    }

    [Fact]
    public void MissingOrBrokenFilesAreReportedByName()
    {
        string missing = Path.Combine(_folder, "none.json");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => ExecutionTimeProfile.Load(missing)).Message);

        Directory.CreateDirectory(_folder);
        string broken = Path.Combine(_folder, "broken.json");
        File.WriteAllText(broken, "{ \"format_version\": 1, ");
        Assert.Contains(broken, Assert.Throws<InvalidDataException>(() => ExecutionTimeProfile.Load(broken)).Message);

        string empty = Path.Combine(_folder, "empty.json");
        File.WriteAllText(empty, "{}");
        Assert.Contains("lacks", Assert.Throws<InvalidDataException>(() => ExecutionTimeProfile.Load(empty)).Message);

        string future = Path.Combine(_folder, "future.json");
        File.WriteAllText(future, Measure().ToJson().Replace("\"format_version\": 1", "\"format_version\": 99"));
        Assert.Contains("version 99", Assert.Throws<InvalidDataException>(() => ExecutionTimeProfile.Load(future)).Message);
    }
}
