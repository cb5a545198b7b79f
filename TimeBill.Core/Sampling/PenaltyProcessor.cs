using TimeBill.Core.Generation;

namespace TimeBill.Core.Sampling;

/// <summary>
/// The repetition penalties of <see cref="SamplingOptions"/>: frequency and presence penalties over the response's
/// tokens (<c>logit −= frequency·count + presence·[count &gt; 0]</c>, as OpenAI defines them) and the multiplicative
/// repetition penalty over prompt and response (a positive logit is divided by it, a negative one multiplied).
/// Counts are kept incrementally, so a step costs the tokens seen, not the vocabulary.
/// </summary>
internal sealed class PenaltyProcessor(SamplingOptions options, int vocabularySize) : ILogitsProcessor
{
    private readonly int[] _counts = new int[vocabularySize];  // per token, in the response
    private readonly bool[] _seen = new bool[vocabularySize];  // per token, in prompt or response
    private readonly int[] _touched = new int[vocabularySize]; // the ids seen, first _touchedCount of them
    private int _touchedCount, _counted;

    public void Reset(ReadOnlySpan<int> prompt)
    {
        foreach (int id in _touched.AsSpan(0, _touchedCount)) { _counts[id] = 0; _seen[id] = false; }
        _touchedCount = 0;
        _counted = 0;
        foreach (int id in prompt) See(id);
    }

    public void Process(Span<float> logits, ReadOnlySpan<int> generated)
    {
        for (; _counted < generated.Length; _counted++)
        {
            int id = generated[_counted];
            See(id);
            _counts[id]++;
        }
        float repetition = options.RepetitionPenalty, frequency = options.FrequencyPenalty, presence = options.PresencePenalty;
        foreach (int id in _touched.AsSpan(0, _touchedCount))
        {
            float logit = logits[id];
            if (repetition != 1f) logit = logit > 0 ? logit / repetition : logit * repetition;
            if (_counts[id] > 0) logit -= frequency * _counts[id] + presence;
            logits[id] = logit;
        }
    }

    private void See(int id)
    {
        if ((uint)id >= (uint)_seen.Length || _seen[id]) return;
        _seen[id] = true;
        _touched[_touchedCount++] = id;
    }
}
