using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// Samples the model's continuation of a prompt until a stop token or the length cap, on a generation engine of its
/// own (one per worker thread), without detokenising.
/// </summary>
internal sealed class ContinuationSampler : IDisposable
{
    private readonly GenerationEngine _engine;
    private readonly int _maxTotal;

    /// <summary>A sampler over <paramref name="model"/> (not owned) whose sequences hold at most <paramref name="maxTotalTokens"/> tokens.</summary>
    public ContinuationSampler(CausalLanguageModel model, int maxTotalTokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        _maxTotal = Math.Min(maxTotalTokens, model.Config.MaxPositions);
        _engine = new GenerationEngine(model);
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
        var options = new GenerationOptions { MaxNewTokens = _maxTotal - prompt.Count, Sampling = sampling };
        var result = _engine.Generate(prompt, options, cancellationToken: cancellationToken);
        return ([.. prompt, .. result.Ids], result.StopReason != StopReason.StopToken);
    }

    /// <summary>Frees the engine.</summary>
    public void Dispose() => _engine.Dispose();
}
