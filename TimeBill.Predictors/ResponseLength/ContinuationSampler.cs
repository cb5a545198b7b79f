using TimeBill.Core.Cache;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// Samples the model's continuation of a prompt until a stop token or the context is full: the same rule as
/// <c>TextGenerator</c> without detokenising, over one reused cache (one per thread).
/// </summary>
public sealed class ContinuationSampler : IDisposable
{
    private readonly CausalLanguageModel _model;
    private readonly KvCache _cache;
    private readonly HashSet<int> _stops;
    private readonly int _maxTotal;

    /// <summary>A sampler over <paramref name="model"/> (not owned) whose sequences hold at most <paramref name="maxTotalTokens"/> tokens.</summary>
    public ContinuationSampler(CausalLanguageModel model, int maxTotalTokens)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _maxTotal = Math.Min(maxTotalTokens, model.Config.MaxPositions);
        _cache = model.CreateCache(_maxTotal);
        _stops = [.. model.GenerationConfig.StopTokenIds];
    }

    /// <summary>
    /// Returns the whole sequence (prompt then response, stop token excluded) and whether it was cut by the
    /// length cap rather than ended by a stop token.
    /// </summary>
    /// <exception cref="ArgumentException">Empty prompt or a prompt that fills the context.</exception>
    public (int[] Ids, bool HitLengthCap) Continue(IReadOnlyList<int> prompt, SamplingOptions sampling, CancellationToken cancellationToken = default)
    {
        if (prompt.Count == 0 || prompt.Count >= _maxTotal)
            throw new ArgumentException($"the prompt must hold 1..{_maxTotal - 1} tokens, it holds {prompt.Count}.", nameof(prompt));
        _cache.Reset();
        var sampler = new TokenSampler(sampling);
        var ids = new List<int>(_maxTotal);
        ids.AddRange(prompt);
        int next = sampler.Sample(_model.ForwardLast(ids.ToArray(), _cache));
        while (true)
        {
            if (_stops.Contains(next)) return (ids.ToArray(), false);
            ids.Add(next);
            if (ids.Count >= _maxTotal) return (ids.ToArray(), true);
            cancellationToken.ThrowIfCancellationRequested();
            next = sampler.Sample(_model.ForwardLast([next], _cache));
        }
    }

    /// <summary>Frees the cache.</summary>
    public void Dispose() => _cache.Dispose();
}
