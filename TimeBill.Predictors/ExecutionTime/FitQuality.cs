namespace TimeBill.Predictors.ExecutionTime;

/// <summary>How well one fitted latency curve matches the measurements.</summary>
/// <param name="HeldOutMapePercent">
/// Mean absolute percentage error, <c>100 · mean(|predicted − measured| / measured)</c>, over the held-out points that
/// the fit never saw; NaN when there were none.
/// </param>
/// <param name="FitMapePercent">The same over the points used for fitting.</param>
/// <param name="RSquared">Coefficient of determination <c>1 − SS_res / SS_tot</c> over the points used for fitting.</param>
/// <param name="FitPoints">Number of points used for fitting.</param>
/// <param name="HeldOutPoints">Number of held-out points.</param>
internal sealed record FitQuality(double HeldOutMapePercent, double FitMapePercent, double RSquared, int FitPoints, int HeldOutPoints);
