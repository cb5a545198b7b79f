namespace TimeBill.Core.Planning;

/// <summary>
/// TimeBill's planner: the smallest eviction ratio α that lets the worst-case response finish in the remaining
/// budget. With <c>n = N_W − 1</c> decode steps after a prefill of <c>Nx</c> tokens, step <c>i</c> finds
/// <c>(1−α)·Nx + i − 1</c> entries and costs <c>p·Nkv + q</c>, so the decode time is
/// <c>S(α) = n·(p·(1−α)·Nx + q) + p·n·(n−1)/2</c>, linear and decreasing in α. Solving <c>S(α) ≤ R</c>:
/// <c>α* = 1 − (R − n·q − p·n·(n−1)/2) / (p·Nx·n)</c>, clamped to [0, α_max]. When even α_max misses,
/// the plan says so (<see cref="BudgetPlan.Feasible"/> false) and keeps α_max as the best effort.
/// </summary>
internal static class BudgetPlanner
{
    /// <summary>Plans α for a prompt after prefill, with <paramref name="remainingMilliseconds"/> of budget left.</summary>
    /// <param name="step">The decode-step cost model (for the depth that will run).</param>
    /// <param name="promptLength">Nx.</param>
    /// <param name="predictedLength">N̂ (tokens, ≥ 0).</param>
    /// <param name="maxNewTokens">N_max: the cap on generated tokens (and the room left in the context).</param>
    /// <param name="remainingMilliseconds">R: what is left of the budget for decoding.</param>
    /// <param name="pessimism">k.</param>
    /// <param name="maxEvictionRatio">α_max.</param>
    /// <param name="layersPerToken">Recorded in the plan: the depth <paramref name="step"/> prices (null = full).</param>
    /// <param name="closingReserve">Tokens added to the worst case (still capped at N_max): what closing a constrained answer can take after it.</param>
    public static BudgetPlan Plan(DecodeStepCost step, int promptLength, double predictedLength, int maxNewTokens,
        double remainingMilliseconds, double pessimism, double maxEvictionRatio, double? layersPerToken = null, int closingReserve = 0)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(promptLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxNewTokens);
        if (!(predictedLength >= 0)) throw new ArgumentOutOfRangeException(nameof(predictedLength), predictedLength, "N̂ must be ≥ 0.");

        ArgumentOutOfRangeException.ThrowIfNegative(closingReserve);
        int worst = (int)Math.Min(maxNewTokens, (long)WorstCaseResponseLength.Compute((int)Math.Ceiling(predictedLength), pessimism, maxNewTokens) + closingReserve);
        double alpha = MinimalEvictionRatio(step, promptLength, worst - 1, remainingMilliseconds, out bool fits);
        bool feasible = fits && alpha <= maxEvictionRatio;
        alpha = Math.Min(alpha, maxEvictionRatio);
        double decode = step.StepsMilliseconds((1 - alpha) * promptLength, worst - 1);
        return new BudgetPlan(alpha, feasible, predictedLength, worst, layersPerToken, decode, remainingMilliseconds);
    }

    /// <summary>
    /// The closed-form smallest α ≥ 0 with <c>S(α) ≤ R</c> for <paramref name="steps"/> decode steps; may exceed 1
    /// when no α fits (then <paramref name="fits"/> is false as well).
    /// </summary>
    public static double MinimalEvictionRatio(DecodeStepCost step, int promptLength, int steps, double remainingMilliseconds, out bool fits)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (steps <= 0)
        {
            fits = remainingMilliseconds >= 0;
            return 0;
        }
        double n = steps;
        double fixedPart = n * step.Q + step.P * n * (n - 1) / 2;   // what no eviction can remove
        double perKeptShare = step.P * promptLength * n;             // d S / d(1−α)
        if (perKeptShare <= 0)
        {
            fits = fixedPart <= remainingMilliseconds;
            return 0;
        }
        double keptShare = (remainingMilliseconds - fixedPart) / perKeptShare;
        fits = keptShare >= 0;
        return Math.Max(0, 1 - keptShare);
    }
}
