namespace TimeBill.Core.Planning;

/// <summary>
/// Picks the pessimism factor k of <c>N_W = min(k·N̂, N_max)</c> from a length predictor's measured errors: the
/// smallest k for which at most a share ε of held-out responses are longer than k·N̂, i.e. the (1 − ε) empirical
/// quantile of <c>actual / N̂</c>. ε is the share of jobs the planner accepts to under-budget because the response
/// ran longer than planned (those still decode under the deadline check; they are the ones Kill may cut). Use prompts
/// the predictor was not fitted on, and not the prompts the budget is then evaluated on.
/// </summary>
internal static class PessimismCalibration
{
    /// <summary>The default ε: one job in twenty may run past its planned worst case.</summary>
    public const double DefaultExceedance = 0.05;

    /// <summary>The smallest k ≥ 1 with <c>share(actual &gt; k·N̂) ≤ ε</c> over the pairs (N̂ below 1 token counts as 1).</summary>
    /// <param name="predicted">N̂ per held-out prompt.</param>
    /// <param name="actual">The response length the model really produced for it.</param>
    /// <param name="exceedance">ε in [0, 1).</param>
    /// <exception cref="ArgumentException">The lists differ in length or are empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">ε outside [0, 1), or a negative or non-finite value.</exception>
    public static double FromExceedance(IReadOnlyList<double> predicted, IReadOnlyList<int> actual, double exceedance = DefaultExceedance)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(actual);
        if (predicted.Count != actual.Count) throw new ArgumentException($"{predicted.Count} predictions for {actual.Count} actual lengths.", nameof(actual));
        if (predicted.Count == 0) throw new ArgumentException("no held-out prompts to calibrate on.", nameof(predicted));
        if (!(exceedance >= 0 && exceedance < 1)) throw new ArgumentOutOfRangeException(nameof(exceedance), exceedance, "ε must lie in [0, 1).");
        var ratios = new double[predicted.Count];
        for (int i = 0; i < ratios.Length; i++)
        {
            if (!(predicted[i] >= 0) || double.IsInfinity(predicted[i])) throw new ArgumentOutOfRangeException(nameof(predicted), predicted[i], "N̂ must be a finite number ≥ 0.");
            ArgumentOutOfRangeException.ThrowIfNegative(actual[i], nameof(actual));
            ratios[i] = actual[i] / Math.Max(predicted[i], 1);
        }
        Array.Sort(ratios);
        // With m = ⌈(1 − ε)·n⌉, at most n − m ≤ ε·n ratios exceed the m-th smallest, and any smaller k leaves n − m + 1.
        int m = (int)Math.Ceiling((1 - exceedance) * ratios.Length - 1e-9);
        return Math.Max(1, ratios[Math.Clamp(m, 1, ratios.Length) - 1]);
    }
}
