using TimeBill.Core.Generation;

namespace TimeBill.Core.Sampling;

/// <summary><see cref="SamplingOptions.LogitBias"/>: fixed amounts added to chosen tokens' logits at every step.</summary>
internal sealed class LogitBiasProcessor(IReadOnlyDictionary<int, float> bias) : ILogitsProcessor
{
    private readonly (int Id, float Bias)[] _entries = [.. bias.Select(p => (p.Key, p.Value))];

    public void Reset(ReadOnlySpan<int> prompt) { }

    public void Process(Span<float> logits, ReadOnlySpan<int> generated)
    {
        foreach (var (id, amount) in _entries) logits[id] += amount;
    }
}
