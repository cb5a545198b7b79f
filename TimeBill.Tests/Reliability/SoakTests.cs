using TimeBill.Cli.Commands;
using TimeBill.Cli.Evaluation;
using TimeBill.Core.Budget;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;
using TimeBill.Tests.Generation;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Reliability;

/// <summary>
/// The short version of <c>timebill soak</c>: a few hundred mixed requests from three concurrent callers leave live native
/// tensors where they were and memory inside the soak's bounds, and every kind of request really ran.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SoakTests
{
    [Fact]
    public async Task AShortSoakStaysInsideItsMemoryBounds()
    {
        string folder = SharedAssets.Model("stories260K");
        using var model = CausalLanguageModel.Load(folder);
        var tokenizer = TextTokenizer.Load(folder, model.GenerationConfig.BosTokenId);
        using var generator = new BudgetedGenerator(model, tokenizer, SoakCommand.Estimator);
        var prompts = SoakCommand.Prompts.Select(tokenizer.EncodePrompt).ToArray();
        var settings = new SoakSettings { Requests = 480, WarmUp = 64, Concurrency = 3, MaxNewTokens = 12, Samples = 4, MaxResidentGrowthMiB = 32, MaxManagedGrowthMiB = 4 };

        var report = await new Soak(generator, prompts, settings).RunAsync();

        Assert.True(report.Passed, string.Join("; ", report.Failures));
        Assert.Equal(0, report.TensorGrowth);
        Assert.Equal(settings.Requests, report.Outcomes.Values.Sum());
        int Count(string prefix) => report.Outcomes.Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(o => o.Value);
        Assert.Equal(60, Count("stream broken off"));
        Assert.Equal(60, Count("cancelled before the start"));
        Assert.Equal(120, Count("stream"));
        Assert.Equal(180, Count("kill: "));
        Assert.Equal(60, Count("skip-next: "));
        Assert.True(Count("kill: Infeasible") + Count("kill: DeadlineExceeded") >= 60, string.Join(", ", report.Outcomes));
        Assert.Equal(settings.Samples + 1, report.Samples.Count); // the baseline, then one reading every Requests / Samples
    }
}
