using static TorchSharp.torch;

namespace TimeBill.Core.Exit;

/// <summary>
/// What the exiting decode step needs from trained exit heads and an exit-layer predictor. Layers are 0-based:
/// "the head after layer ℓ" reads the residual stream after layer ℓ and stands in for the layers above it.
/// </summary>
public interface IExitModel
{
    /// <summary>The <c>CausalLanguageModel.Identity</c> these heads were trained for.</summary>
    string ModelIdentity { get; }

    /// <summary>Layers (ascending, each below the last layer) after which an exit head exists.</summary>
    IReadOnlyList<int> ExitLayers { get; }

    /// <summary>The layer whose output hidden state feeds the exit-layer predictor (always run).</summary>
    int PredictorLayer { get; }

    /// <summary>Next-token logits <c>[T, vocab]</c> of the exit head after <paramref name="layer"/> for hidden states <c>[T, hidden]</c>.</summary>
    Tensor ExitLogits(int layer, Tensor hidden);

    /// <summary>
    /// Predicts the first exit layer (one of <see cref="ExitLayers"/>, not below <see cref="PredictorLayer"/>) whose head
    /// will reach <paramref name="threshold"/>, or −1 for "none: run the full depth".
    /// </summary>
    /// <param name="hidden">The current token's hidden state after <see cref="PredictorLayer"/>.</param>
    /// <param name="previousConfidence">Top-1 probability of the logits the current token was chosen from.</param>
    /// <param name="threshold">The exit threshold τ.</param>
    int PredictExitLayer(ReadOnlySpan<float> hidden, float previousConfidence, double threshold);

    /// <summary>Measured on held-out distillation data: depth and head evaluations per token for a sweep of τ.</summary>
    ExitCalibration Calibration { get; }
}
