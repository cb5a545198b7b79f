using TimeBill.Core.Eviction;
using TimeBill.Core.Exit;
using TimeBill.Core.Sampling;

namespace TimeBill.Core.Generation;

/// <summary>Options of one generation.</summary>
public sealed record GenerationOptions
{
    /// <summary>Upper bound on generated tokens (stop token excluded).</summary>
    public int MaxNewTokens { get; init; } = 256;
    /// <summary>Start from the engine's cached keys and values of this prompt's longest cached prefix, and keep this prompt's for later ones.</summary>
    public bool ReusePrefix { get; init; } = true;
    /// <summary>Token choice.</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;
    /// <summary>Tokens that end the response; null: generation_config.json's and the tokenizer's EOS (`GenerationEngine.DefaultStopTokenIds`).</summary>
    public IReadOnlyCollection<int>? StopTokenIds { get; init; }
    /// <summary>Texts that end the response when it contains them, across token boundaries (not returned); needs a tokenizer.</summary>
    public IReadOnlyList<string>? StopSequences { get; init; }
    /// <summary>Logits processors applied in order before sampling, after the sampling options' own penalties.</summary>
    public IReadOnlyList<ILogitsProcessor>? LogitsProcessors { get; init; }
    /// <summary>
    /// Early exit / layer skipping while decoding; null or <see cref="ExitPolicy.Off"/> (the default) decodes at full
    /// depth. An active policy needs a generator created with exit heads.
    /// </summary>
    public ExitPolicy? Exit { get; init; }

    /// <summary>
    /// KV-cache eviction applied once right after prefill (TimeBill's α knob); null (the default) keeps the whole
    /// prompt and prefill runs without any capture.
    /// </summary>
    public EvictionPolicy? Eviction { get; init; }
    /// <summary>Fraction α of the prompt's KV entries <see cref="Eviction"/> removes in every layer and KV head, in [0, 1).</summary>
    public double EvictionRatio { get; init; }

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">MaxNewTokens not positive, bad sampling values, or an eviction ratio outside [0, 1).</exception>
    public void Validate()
    {
        if (MaxNewTokens <= 0) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "max new tokens must be positive.");
        ArgumentNullException.ThrowIfNull(Sampling);
        Sampling.Validate();
        if (StopSequences?.Any(s => s is null) == true) throw new ArgumentException("a stop sequence is null.", nameof(StopSequences));
        if (LogitsProcessors?.Any(p => p is null) == true) throw new ArgumentException("a logits processor is null.", nameof(LogitsProcessors));
        Exit?.Validate();
        if (Eviction is not null)
        {
            try { EvictionPolicy.ValidateAlpha(EvictionRatio); }
            catch (ArgumentOutOfRangeException e) { throw new ArgumentOutOfRangeException(nameof(EvictionRatio), EvictionRatio, e.Message); }
        }
    }
}
