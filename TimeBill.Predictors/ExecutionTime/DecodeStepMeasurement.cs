namespace TimeBill.Predictors.ExecutionTime;

/// <summary>Measured time of one decode step at a KV length and depth, in milliseconds.</summary>
/// <param name="KvLength">Cached entries the step finds (Nkv).</param>
/// <param name="Layers">Layers the step runs (ℓ; the model's layer count for a full step).</param>
/// <param name="Milliseconds">The point's time: the <see cref="ExecutionTimeMeasurements.Statistic"/> (median by default) of <paramref name="SamplesMilliseconds"/>.</param>
/// <param name="SamplesMilliseconds">Every repetition's time: the median of a batch of back-to-back steps at <paramref name="KvLength"/>.</param>
/// <param name="HeldOut">True when the point is kept out of the fit and used only to measure its quality.</param>
internal sealed record DecodeStepMeasurement(int KvLength, int Layers, double Milliseconds, IReadOnlyList<double> SamplesMilliseconds, bool HeldOut);
