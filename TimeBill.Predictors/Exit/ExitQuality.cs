using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Predictors.Exit;

/// <summary>Quality of an exiting generation measured against the full model.</summary>
public static class ExitQuality
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

    /// <summary>
    /// Summed negative log-likelihood (nats) the full model assigns to <paramref name="generated"/> after
    /// <paramref name="prompt"/>, and the number of tokens scored; perplexity is <c>exp(nll / count)</c>.
    /// </summary>
    public static (double Nll, int Count) FullModelNll(CausalLanguageModel model, IReadOnlyList<int> prompt, IReadOnlyList<int> generated)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (generated.Count == 0) return (0, 0);
        int[] sequence = [.. prompt, .. generated];
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var cache = model.CreateCache(sequence.Length);
        var logits = model.Forward(sequence.AsSpan(0, sequence.Length - 1), cache, allLogits: true);
        var logProbs = logits.narrow(0, prompt.Count - 1, generated.Count).log_softmax(-1);
        var targets = tensor(generated.Select(t => (long)t).ToArray()).unsqueeze(1);
        return (-logProbs.gather(1, targets).sum().item<float>(), generated.Count);
    }
}
