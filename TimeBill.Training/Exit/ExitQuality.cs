using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Predictors.Exit;

/// <summary>Quality of an exiting generation measured against the full model.</summary>
internal static class ExitQuality
{
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
