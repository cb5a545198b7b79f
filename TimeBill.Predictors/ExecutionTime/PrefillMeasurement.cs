namespace TimeBill.Predictors.ExecutionTime;

/// <summary>Measured prefill time of one prompt length, in milliseconds.</summary>
/// <param name="PromptLength">Prompt tokens prefilled (Nx, or Nn after a cached prefix).</param>
/// <param name="Milliseconds">The point's time: the <see cref="ExecutionTimeMeasurements.Statistic"/> (median by default) of <paramref name="SamplesMilliseconds"/>.</param>
/// <param name="SamplesMilliseconds">Every repetition's time.</param>
/// <param name="HeldOut">True when the point is kept out of the fit and used only to measure its quality.</param>
/// <param name="CachedLength">Tokens before them restored from the prefix cache (Nc); 0 for a cold prefill.</param>
internal sealed record PrefillMeasurement(int PromptLength, double Milliseconds, IReadOnlyList<double> SamplesMilliseconds, bool HeldOut, int CachedLength = 0);
