namespace TimeBill.Core.Planning;

/// <summary>
/// Time model of one decode step, linear in the KV-cache length: <c>t_step(Nkv) = P·Nkv + Q</c> milliseconds.
/// <para>
/// <c>Nkv</c> is the number of cached entries the step finds before it runs (the step appends one more and
/// attends over all of them). After a prefill of <c>Nx</c> tokens and eviction of a share α, decode step
/// <c>i = 1, 2, …</c> finds <c>Nkv,i = kv0 + i − 1</c> entries with <c>kv0 = (1 − α)·Nx</c>.
/// <c>kv0</c> is a real number here (no rounding) so the planner's closed forms stay continuous in α.
/// </para>
/// </summary>
/// <param name="P">Milliseconds per cached entry (≥ 0).</param>
/// <param name="Q">Fixed milliseconds per step (≥ 0).</param>
public sealed record DecodeStepCost(double P, double Q)
{
    /// <summary>Predicted time in milliseconds of one step that finds <paramref name="kvLength"/> cached entries.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kvLength"/> is negative.</exception>
    public double StepMilliseconds(double kvLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(kvLength);
        return P * kvLength + Q;
    }

    /// <summary>
    /// Predicted time in milliseconds of decode steps <c>1..steps</c> when the first finds <paramref name="initialKvLength"/>
    /// entries: <c>Σ_{i=1}^{N} (P·(kv0 + i − 1) + Q) = N·(P·kv0 + Q) + P·N·(N − 1)/2</c>.
    /// A response of <c>N_W</c> tokens needs <c>N_W − 1</c> decode steps (the prefill yields the first token),
    /// which is DESIGN.md's <c>Σ_{i=1}^{N_W−1}</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative KV length or step count.</exception>
    public double StepsMilliseconds(double initialKvLength, long steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialKvLength);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        double n = steps;
        return n * (P * initialKvLength + Q) + P * n * (n - 1) / 2;
    }

    /// <summary>
    /// The largest number of decode steps <c>N</c> whose total time <see cref="StepsMilliseconds"/> fits within
    /// <paramref name="budgetMilliseconds"/>: the positive root of <c>(P/2)·N² + (P·kv0 + Q − P/2)·N − budget = 0</c>,
    /// floored and checked against the sum on both sides. Zero when the budget is not positive;
    /// <see cref="int.MaxValue"/> when steps cost nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialKvLength"/> is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="budgetMilliseconds"/> is NaN.</exception>
    public int MaxStepsWithin(double budgetMilliseconds, double initialKvLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialKvLength);
        if (double.IsNaN(budgetMilliseconds)) throw new ArgumentException("The budget is NaN.", nameof(budgetMilliseconds));
        if (budgetMilliseconds <= 0) return 0;
        if (StepMilliseconds(initialKvLength) <= 0 && P <= 0) return int.MaxValue;

        double root;
        if (P <= 0)
        {
            root = budgetMilliseconds / Q;
        }
        else
        {
            // (P/2)N² + βN − T = 0; the cancellation-free form of the positive root.
            double beta = P * initialKvLength + Q - P / 2;
            double disc = Math.Sqrt(beta * beta + 2 * P * budgetMilliseconds);
            root = beta > 0 ? 2 * budgetMilliseconds / (beta + disc) : (disc - beta) / P;
        }
        if (double.IsInfinity(root) || root >= int.MaxValue) return int.MaxValue;

        long n = (long)Math.Floor(root);
        while (n > 0 && StepsMilliseconds(initialKvLength, n) > budgetMilliseconds) n--;
        while (n < int.MaxValue && StepsMilliseconds(initialKvLength, n + 1) <= budgetMilliseconds) n++;
        return (int)n;
    }

    /// <summary>This cost with both coefficients multiplied by <paramref name="factor"/>.</summary>
    public DecodeStepCost Scaled(double factor) => new(P * factor, Q * factor);
}
