using TimeBill.Core.Planning;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>The result of <see cref="ExecutionTimeFitter.Fit"/>: coefficients and the quality of each curve.</summary>
/// <param name="Coefficients">The fitted latency model.</param>
/// <param name="Prefill">Quality of <c>t_prefill(Nx)</c>.</param>
/// <param name="Step">Quality of the full-depth <c>t_step(Nkv)</c>.</param>
/// <param name="LayeredStep">Quality of the layer-aware <c>t_step(Nkv, ℓ)</c> over all depths.</param>
/// <param name="CachedPrefill">Quality of <c>t_prefill(Nc, Nn)</c> on the warm prefills; null when none was profiled.</param>
internal sealed record ExecutionTimeFit(ExecutionTimeCoefficients Coefficients, FitQuality Prefill, FitQuality Step, FitQuality LayeredStep, FitQuality? CachedPrefill = null);
