using TimeBill.Core.Model;

namespace TimeBill.Core.Planning;

/// <summary>
/// A length predictor that reads the target's own prefill (a self-probe): the generator passes
/// <see cref="CreateProbe"/>'s observer to the prefill it runs anyway, then asks <see cref="PredictFromProbe"/>,
/// so the prediction costs a small head after prefill instead of a second forward pass.
/// </summary>
internal interface IPrefillProbingLengthPredictor : IResponseLengthPredictor
{
    /// <summary>An observer to pass to the prompt's prefill.</summary>
    IForwardObserver CreateProbe();

    /// <summary>The prediction from a probe that observed the prefill of a <paramref name="promptLength"/>-token prompt.</summary>
    /// <exception cref="ArgumentException">The probe was not made by <see cref="CreateProbe"/>.</exception>
    ResponseLengthPrediction PredictFromProbe(IForwardObserver probe, int promptLength);
}
