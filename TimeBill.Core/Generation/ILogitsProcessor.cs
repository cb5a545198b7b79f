namespace TimeBill.Core.Generation;

/// <summary>
/// Changes the next-token logits before sampling (penalties, biases, constraints), in the order the chain lists
/// them. One instance serves one job at a time: <see cref="Reset"/> starts a job.
/// </summary>
public interface ILogitsProcessor
{
    /// <summary>Starts a new response to <paramref name="prompt"/>.</summary>
    void Reset(ReadOnlySpan<int> prompt) { }

    /// <summary>Adjusts <paramref name="logits"/> in place; <paramref name="generated"/> are the response's tokens so far.</summary>
    void Process(Span<float> logits, ReadOnlySpan<int> generated);
}
