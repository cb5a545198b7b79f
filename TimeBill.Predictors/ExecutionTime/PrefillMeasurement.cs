namespace TimeBill.Predictors.ExecutionTime;

/// <summary>Measured prefill time of one prompt length: the median of the repetitions, in milliseconds.</summary>
/// <param name="PromptLength">Prompt length Nx in tokens.</param>
/// <param name="MedianMilliseconds">Median of <paramref name="SamplesMilliseconds"/>.</param>
/// <param name="SamplesMilliseconds">Every repetition's time.</param>
/// <param name="HeldOut">True when the point is kept out of the fit and used only to measure its quality.</param>
public sealed record PrefillMeasurement(int PromptLength, double MedianMilliseconds, IReadOnlyList<double> SamplesMilliseconds, bool HeldOut);
