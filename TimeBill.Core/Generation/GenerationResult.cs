namespace TimeBill.Core.Generation;

/// <summary>A finished generation.</summary>
/// <param name="PromptIds">The prompt's token ids (BOS included).</param>
/// <param name="Ids">Generated ids, the stop token excluded.</param>
/// <param name="Text">Decoded response.</param>
/// <param name="StopReason">Why it ended.</param>
/// <param name="PrefillTime">Time of the prompt's forward pass (first token's logits).</param>
/// <param name="DecodeTime">Time of everything after prefill.</param>
public sealed record GenerationResult(
    IReadOnlyList<int> PromptIds,
    IReadOnlyList<int> Ids,
    string Text,
    StopReason StopReason,
    TimeSpan PrefillTime,
    TimeSpan DecodeTime)
{
    /// <summary>Average decoder layers run per decoded token (null when decoding ran at full depth without an exit policy).</summary>
    public double? AverageLayersPerToken { get; init; }
    /// <summary>Average exit heads evaluated per decoded token (null without an exit policy).</summary>
    public double? AverageExitHeadsPerToken { get; init; }
    /// <summary>Average decoder layers run per decoded token, exits or not (the full depth when nothing was decoded).</summary>
    public double LayersPerToken { get; init; }
    /// <summary>Whether the whole prompt ran (false: a hook stopped the prefill, and nothing was generated).</summary>
    public bool PrefillCompleted { get; init; } = true;
    /// <summary>Leading prompt tokens whose keys and values came from the prefix cache instead of the prefill.</summary>
    public int ReusedPromptTokens { get; init; }
    /// <summary>What eviction after prefill did (entries kept per layer, its time, which is part of <c>DecodeTime</c>); null without eviction.</summary>
    public Eviction.EvictionResult? Eviction { get; init; }
}
