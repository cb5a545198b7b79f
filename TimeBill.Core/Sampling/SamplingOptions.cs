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
    /// <summary>Seed of the sampler's random stream; null draws one.</summary>
    public int? Seed { get; init; }

    /// <summary>Whether sampling reduces to argmax.</summary>
    public bool IsGreedy => Temperature == 0f;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Temperature negative or not finite, TopK negative, TopP outside (0, 1].</exception>
    public void Validate()
    {
        if (!float.IsFinite(Temperature) || Temperature < 0)
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "temperature must be a finite number ≥ 0 (0 = greedy).");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "top-k must be ≥ 0 (0 = off).");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "top-p must lie in (0, 1].");
    }
}
