using TimeBill.Core.Sampling;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// How a distillation dataset is sampled. Stored as the dataset file's header so a resumed run continues with
/// the same settings (and refuses different ones).
/// </summary>
internal sealed record DistillationSettings
{
    /// <summary>Identity of the target model (<c>CausalLanguageModel.Identity</c>).</summary>
    public string ModelIdentity { get; init; } = "";
    /// <summary>Base seed: story i is sampled with a seed derived from (Seed, i), so runs are reproducible and resumable.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Deployment temperature.</summary>
    public float Temperature { get; init; } = 1f;
    /// <summary>Deployment top-p.</summary>
    public float TopP { get; init; } = 0.9f;
    /// <summary>Prompt + response never exceed this many tokens (the model's context).</summary>
    public int MaxTotalTokens { get; init; } = 512;
    /// <summary>Prompts cut from each sampled story.</summary>
    public int PrefixesPerStory { get; init; } = 5;
    /// <summary>Shortest prompt cut from a story, BOS included.</summary>
    public int MinPrefix { get; init; } = 2;
    /// <summary>Longest prompt cut from a story, BOS included.</summary>
    public int MaxPrefix { get; init; } = 400;

    /// <summary>The sampling options of story <paramref name="story"/> (seeded per story).</summary>
    public SamplingOptions SamplingFor(long story, int stream = 0) =>
        new() { Temperature = Temperature, TopP = TopP, Seed = DeriveSeed(Seed, story, stream) };

    /// <summary>A well-mixed 31-bit seed from a base seed, an item index and a stream number.</summary>
    public static int DeriveSeed(int seed, long item, int stream)
    {
        ulong x = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)item * 0xBF58476D1CE4E5B9UL ^ (ulong)(uint)stream * 0x94D049BB133111EBUL;
        x ^= x >> 30; x *= 0xBF58476D1CE4E5B9UL; x ^= x >> 27; x *= 0x94D049BB133111EBUL; x ^= x >> 31;
        return (int)(x & 0x7FFFFFFF);
    }

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">A value out of range.</exception>
    public void Validate()
    {
        new SamplingOptions { Temperature = Temperature, TopP = TopP }.Validate();
        if (PrefixesPerStory < 1) throw new ArgumentException($"prefixes per story must be ≥ 1, got {PrefixesPerStory}.");
        if (MinPrefix < 1 || MaxPrefix < MinPrefix) throw new ArgumentException($"prefix range {MinPrefix}..{MaxPrefix} is empty or starts below 1.");
        if (MaxPrefix >= MaxTotalTokens) throw new ArgumentException($"max prefix {MaxPrefix} leaves no room for a response in {MaxTotalTokens} tokens.");
    }
}
