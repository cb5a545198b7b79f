namespace TimeBill.Core.Planning;

/// <summary>The pessimistic response length the planner budgets for: <c>N_W = min(k·N̂, N_max)</c>.</summary>
public static class WorstCaseResponseLength
{
    /// <summary>The paper's default pessimism factor <c>k</c>.</summary>
    public const double DefaultPessimism = 5;

    /// <summary>
    /// <c>N_W = min(⌈k·N̂⌉, N_max)</c> tokens, never less than 1 when <paramref name="maxNewTokens"/> ≥ 1 (a
    /// response has at least the token the prefill yields).
    /// </summary>
    /// <param name="predictedLength">The predicted response length <c>N̂</c> in tokens (≥ 0).</param>
    /// <param name="pessimism">The factor <c>k</c> (≥ 1).</param>
    /// <param name="maxNewTokens">The generation cap <c>N_max</c> (≥ 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument outside its range.</exception>
    public static int Compute(int predictedLength, double pessimism, int maxNewTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(predictedLength);
        ArgumentOutOfRangeException.ThrowIfNegative(maxNewTokens);
        if (!(pessimism >= 1) || double.IsInfinity(pessimism))
            throw new ArgumentOutOfRangeException(nameof(pessimism), pessimism, "The pessimism factor k must be a finite number ≥ 1.");
        double scaled = Math.Ceiling(pessimism * predictedLength);
        int nw = scaled >= maxNewTokens ? maxNewTokens : (int)scaled;
        return Math.Min(Math.Max(nw, 1), maxNewTokens);
    }
}
