namespace TimeBill.Predictors.Evaluation;

/// <summary>Token-sequence similarity used by every quality study (eviction, exit, the TimeBill evaluation).</summary>
internal static class SequenceMetrics
{
    /// <summary>Share of positions of <paramref name="reference"/> where <paramref name="candidate"/> holds the same token.</summary>
    public static double TokenAgreement(IReadOnlyList<int> reference, IReadOnlyList<int> candidate)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidate);
        if (reference.Count == 0) return candidate.Count == 0 ? 1 : 0;
        int same = 0;
        for (int i = 0; i < Math.Min(reference.Count, candidate.Count); i++) if (reference[i] == candidate[i]) same++;
        return (double)same / Math.Max(reference.Count, candidate.Count);
    }

    /// <summary>ROUGE-L F1 over tokens: the longest common subsequence's precision and recall, harmonic mean.</summary>
    public static double RougeLF1(IReadOnlyList<int> reference, IReadOnlyList<int> candidate)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidate);
        if (reference.Count == 0 || candidate.Count == 0) return reference.Count == candidate.Count ? 1 : 0;
        var previous = new int[candidate.Count + 1];
        var current = new int[candidate.Count + 1];
        for (int i = 1; i <= reference.Count; i++)
        {
            for (int j = 1; j <= candidate.Count; j++)
                current[j] = reference[i - 1] == candidate[j - 1] ? previous[j - 1] + 1 : Math.Max(previous[j], current[j - 1]);
            (previous, current) = (current, previous);
        }
        double lcs = previous[candidate.Count];
        if (lcs == 0) return 0;
        double precision = lcs / candidate.Count, recall = lcs / reference.Count;
        return 2 * precision * recall / (precision + recall);
    }
}
