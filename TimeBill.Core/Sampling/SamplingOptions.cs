namespace TimeBill.Core.Sampling;

/// <summary>How the next token is chosen from the logits.</summary>
public sealed record SamplingOptions
{
    /// <summary>Greedy decoding (argmax).</summary>
    public static SamplingOptions Greedy { get; } = new();

    /// <summary>Softmax temperature; 0 means greedy.</summary>
    public float Temperature { get; init; }
    /// <summary>Keep only the k most likely tokens; 0 disables.</summary>
    public int TopK { get; init; }
    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p; 1 disables.</summary>
    public float TopP { get; init; } = 1f;
    /// <summary>Keep only tokens at least this fraction as likely as the most likely one (after temperature); 0 disables.</summary>
    public float MinP { get; init; }
    /// <summary>Added to the logits of the given token ids before anything else (−∞ bans a token); null or empty disables.</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }
    /// <summary>Seed of the sampler's random stream; null draws one.</summary>
    public long? Seed { get; init; }
    /// <summary>Subtracted from a token's logit once per time it already occurs in the response; 0 disables.</summary>
    public float FrequencyPenalty { get; init; }
    /// <summary>Subtracted from the logit of every token that already occurs in the response; 0 disables.</summary>
    public float PresencePenalty { get; init; }
    /// <summary>Divides positive and multiplies negative logits of tokens seen in prompt or response; 1 disables.</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>Whether sampling reduces to argmax.</summary>
    public bool IsGreedy => Temperature == 0f;

    /// <summary>Whether any penalty is set.</summary>
    public bool HasPenalties => FrequencyPenalty != 0f || PresencePenalty != 0f || RepetitionPenalty != 1f;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value outside its range, named.</exception>
    public void Validate()
    {
        if (!float.IsFinite(Temperature) || Temperature < 0)
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "temperature must be a finite number ≥ 0 (0 = greedy).");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "top-k must be ≥ 0 (0 = off).");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "top-p must lie in (0, 1].");
        if (!(MinP >= 0 && MinP < 1)) throw new ArgumentOutOfRangeException(nameof(MinP), MinP, "min-p must lie in [0, 1) (0 = off).");
        if (LogitBias is not null)
            foreach (var (id, bias) in LogitBias)
            {
                if (id < 0) throw new ArgumentOutOfRangeException(nameof(LogitBias), id, "a logit bias names a negative token id.");
                if (!(float.IsNegativeInfinity(bias) || float.IsFinite(bias) && Math.Abs(bias) <= 100))
                    throw new ArgumentOutOfRangeException(nameof(LogitBias), bias, $"the logit bias of token {id} must be a number in [-100, 100], or −∞ to ban it.");
            }
        if (!float.IsFinite(FrequencyPenalty) || Math.Abs(FrequencyPenalty) > 100)
            throw new ArgumentOutOfRangeException(nameof(FrequencyPenalty), FrequencyPenalty, "the frequency penalty must be a finite number in [-100, 100] (0 = off).");
        if (!float.IsFinite(PresencePenalty) || Math.Abs(PresencePenalty) > 100)
            throw new ArgumentOutOfRangeException(nameof(PresencePenalty), PresencePenalty, "the presence penalty must be a finite number in [-100, 100] (0 = off).");
        if (!(RepetitionPenalty > 0) || !float.IsFinite(RepetitionPenalty))
            throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, "the repetition penalty must be a finite number > 0 (1 = off).");
    }
}
