using TimeBill.Core.Budget;
using TimeBill.Core.Model;
using TimeBill.Predictors.Budget;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Tests.Generation;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Budget;

/// <summary>A budgeted generator from nothing but a model folder: a short profile, cached per machine and model; identity by content.</summary>
[Collection(SerialCollection.Name)]
public sealed class BudgetWithoutHomeworkTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"timebill-cache-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task AFolderAloneProfilesOnceCachesTheProfileAndAnswersWithinBudgets()
    {
        string model = SharedAssets.Model("stories260K");
        var reports = new List<ProfilingProgress>();
        var progress = new SynchronousProgress<ProfilingProgress>(reports.Add);
        using (var generator = new BudgetedGeneratorBuilder(model).WithProfileCache(_folder).WithProgress(progress).Build())
        {
            var result = await generator.GenerateAsync(new BudgetedRequest { Prompt = "Once upon a time", Budget = TimeSpan.FromSeconds(5), MaxNewTokens = 16 });
            Assert.Equal(BudgetStatus.Completed, result.Status);
            Assert.NotNull(result.Plan);
        }
        Assert.NotEmpty(reports);
        string[] cached = Directory.GetFiles(Path.Combine(_folder, "profiles"), "*.json");
        Assert.Single(cached);

        // The second build reads the cached profile: no profiling at all.
        reports.Clear();
        using (new BudgetedGeneratorBuilder(model).WithProfileCache(_folder).WithProgress(progress).WithWarmUp(false).Build()) { }
        Assert.Empty(reports);
    }

    [Fact]
    public void AProfileCacheThatCannotBeWrittenIsAWarningNotAnError()
    {
        File.WriteAllText(_folder, "a file where the cache folder should be");
        try
        {
            var warnings = new List<string>();
            using var generator = new BudgetedGeneratorBuilder(SharedAssets.Model("stories260K")).WithProfileCache(_folder)
                .WithWarnings(warnings.Add).WithWarmUp(false).Build();
            Assert.Contains(warnings, w => w.Contains("cannot keep the profile"));
        }
        finally { File.Delete(_folder); }
    }

    [Fact]
    public void ModelIdentityFollowsTheContentNotTheFolderName()
    {
        string original = SharedAssets.Model("stories260K");
        string renamed = Path.Combine(_folder, "renamed-copy");
        Directory.CreateDirectory(renamed);
        foreach (string file in new[] { "config.json", "generation_config.json", "model.safetensors" })
            File.Copy(Path.Combine(original, file), Path.Combine(renamed, file));
        using var a = CausalLanguageModel.Load(original);
        using var b = CausalLanguageModel.Load(renamed);
        using var other = CausalLanguageModel.CreateRandom(a.Config, seed: 1);
        Assert.Equal(a.Identity, b.Identity);
        Assert.NotEqual(a.LegacyIdentity, b.LegacyIdentity);
        Assert.NotEqual(a.Identity, other.Identity);
        // Files trained under the old, folder-named identity still belong to the model.
        Assert.True(a.IsIdentifiedBy(a.LegacyIdentity));
        Assert.False(a.IsIdentifiedBy(other.Identity));
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
