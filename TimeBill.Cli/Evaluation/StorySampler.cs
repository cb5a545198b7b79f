using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;

namespace TimeBill.Cli.Evaluation;

/// <summary>Plain sampling over a model (temperature 1, top-p 0.9, seeded) on an engine of its own: prompt construction and response-length draws.</summary>
/// <param name="model">The model to sample (not owned).</param>
internal sealed class StorySampler(CausalLanguageModel model) : IDisposable
{
    private readonly GenerationEngine _engine = new(model);

    /// <summary>Continues <paramref name="prefix"/> until a stop token or <paramref name="maxTokens"/> tokens.</summary>
    public IReadOnlyList<int> Sample(int[] prefix, int maxTokens, int seed) =>
        _engine.Generate(prefix, new GenerationOptions { MaxNewTokens = maxTokens, Sampling = new SamplingOptions { Temperature = 1, TopP = 0.9f, Seed = seed } }).Ids;

    public void Dispose() => _engine.Dispose();
}
