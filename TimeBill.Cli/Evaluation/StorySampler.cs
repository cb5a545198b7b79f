using TimeBill.Core.Cache;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;

namespace TimeBill.Cli.Evaluation;

/// <summary>Plain sampling over a model (temperature 1, top-p 0.9, seeded): prompt construction and response-length draws.</summary>
/// <param name="model">The model to sample.</param>
/// <param name="capacity">Cache capacity in tokens: the prefix plus the longest continuation.</param>
internal sealed class StorySampler(CausalLanguageModel model, int capacity = 256) : IDisposable
{
    private readonly KvCache _cache = model.CreateCache(capacity);

    /// <summary>Continues <paramref name="prefix"/> until a stop token or <paramref name="maxTokens"/> tokens.</summary>
    public IReadOnlyList<int> Sample(int[] prefix, int maxTokens, int seed)
    {
        _cache.Reset();
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, TopP = 0.9f, Seed = seed });
        var stops = model.GenerationConfig.StopTokenIds;
        var tokens = new List<int>();
        int next = sampler.Sample(model.ForwardLast(prefix, _cache));
        while (!stops.Contains(next) && tokens.Count < maxTokens)
        {
            tokens.Add(next);
            next = sampler.Sample(model.ForwardLast([next], _cache));
        }
        return tokens;
    }

    public void Dispose() => _cache.Dispose();
}
