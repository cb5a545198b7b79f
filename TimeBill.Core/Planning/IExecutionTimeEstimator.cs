namespace TimeBill.Core.Planning;

/// <summary>
/// Predicts how long the parts of a generation take on this machine (the TimeBill execution-time estimator, ETE).
/// Every time is a <see cref="double"/> in <b>milliseconds</b>; lengths are in tokens.
/// <para>
/// Convention: a response of <c>N</c> tokens costs one prefill (which yields the first token) plus <c>N − 1</c>
/// decode steps; decode step <c>i</c> (1-based) finds <c>(1 − α)·Nx + i − 1</c> cached entries, with α the share
/// of the prompt's KV entries evicted right after prefill. <c>layersPerToken</c> = <c>null</c> means every layer
/// runs; a value prices steps that run only that many layers (an expected depth, may be fractional) plus the head.
/// </para>
/// Implementations are thread-safe: the planner reads while the generation loop may feed observations.
/// </summary>
public interface IExecutionTimeEstimator
{
    /// <summary>The current coefficients (a snapshot; recalibrating estimators replace it as they learn).</summary>
    ExecutionTimeCoefficients Coefficients { get; }

    /// <summary>Predicted prefill time of a prompt of <paramref name="promptLength"/> tokens.</summary>
    double PrefillMilliseconds(int promptLength);

    /// <summary>
    /// Predicted prefill time of a prompt of <paramref name="promptLength"/> tokens whose first
    /// <paramref name="cachedLength"/> come from the prefix cache (<see cref="PrefillCost.Milliseconds(double, double)"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative length, or more cached tokens than the prompt has.</exception>
    double PrefillMilliseconds(int promptLength, int cachedLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cachedLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cachedLength, promptLength);
        return cachedLength == 0 ? PrefillMilliseconds(promptLength) : Coefficients.Prefill.Milliseconds(cachedLength, promptLength - cachedLength);
    }

    /// <summary>Predicted time of one decode step that finds <paramref name="kvLength"/> cached entries.</summary>
    double DecodeStepMilliseconds(double kvLength, double? layersPerToken = null);

    /// <summary>
    /// Predicted time of decode steps <c>1..steps</c> after a prefill of <paramref name="promptLength"/> tokens and
    /// eviction of a share <paramref name="evictionRatio"/> of them (closed form, see <see cref="DecodeStepCost.StepsMilliseconds"/>).
    /// </summary>
    double DecodeMilliseconds(int promptLength, double evictionRatio, int steps, double? layersPerToken = null);

    /// <summary>
    /// Worst-case end-to-end time: <c>t_prefill(Nx) + Σ_{i=1}^{N_W−1} t_step((1 − α)·Nx + i − 1)</c> with
    /// <c>N_W = min(k·N̂, N_max)</c> (<see cref="WorstCaseResponseLength"/>). The response-length predictor's own time is
    /// not included: it runs concurrently with prefill and the planner accounts for it.
    /// </summary>
    double WorstCaseEndToEndMilliseconds(int promptLength, double evictionRatio, int predictedLength, double pessimism,
        int maxNewTokens, double? layersPerToken = null);

    /// <summary>
    /// The largest number of decode steps whose predicted total fits in <paramref name="budgetMilliseconds"/>, after a
    /// prefill of <paramref name="promptLength"/> tokens with a share <paramref name="evictionRatio"/> evicted
    /// (closed form via the quadratic, see <see cref="DecodeStepCost.MaxStepsWithin"/>).
    /// </summary>
    int MaxDecodeStepsWithin(double budgetMilliseconds, int promptLength, double evictionRatio, double? layersPerToken = null);
}
