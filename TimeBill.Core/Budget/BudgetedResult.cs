using TimeBill.Core.Generation;
using TimeBill.Core.Planning;

namespace TimeBill.Core.Budget;

/// <summary>A budgeted job's outcome: the response, the plan, and the truth beside the prediction.</summary>
public sealed record BudgetedResult
{
    /// <summary>How the job ended.</summary>
    public required BudgetStatus Status { get; init; }
    /// <summary>The response text (possibly partial when killed).</summary>
    public string Text { get; init; } = "";
    /// <summary>Generated token ids.</summary>
    public IReadOnlyList<int> Ids { get; init; } = [];
    /// <summary>The prompt's ids.</summary>
    public IReadOnlyList<int> PromptIds { get; init; } = [];
    /// <summary>Leading prompt tokens restored from the engine's prefix cache instead of prefilled.</summary>
    public int ReusedPromptTokens { get; init; }
    /// <summary>Why decoding ended when it ran to an end; null when killed, skipped or not run.</summary>
    public StopReason? StopReason { get; init; }
    /// <summary>The planner's decision; null when the job never got to planning.</summary>
    public BudgetPlan? Plan { get; init; }
    /// <summary>The budget T.</summary>
    public TimeSpan Budget { get; init; }
    /// <summary>Average decoder layers per generated token (full depth without layer skipping).</summary>
    public double LayersPerToken { get; init; }
    /// <summary>Time of the length prediction (it runs concurrently with prefill).</summary>
    public TimeSpan PredictorTime { get; init; }
    /// <summary>Time the planner itself took.</summary>
    public TimeSpan PlannerTime { get; init; }
    /// <summary>Time of scoring and compacting the KV cache.</summary>
    public TimeSpan EvictionTime { get; init; }
    /// <summary>
    /// The plan evicted, but under Kill the eviction and one step after it no longer fitted before the deadline, so the
    /// cache was kept whole (decoding went on while steps fitted).
    /// </summary>
    public bool EvictionSkipped { get; init; }
    /// <summary>
    /// Under Kill, the length prediction did not come in time: the concurrent predictor was still running (or the
    /// self-probe's head no longer fitted) when waiting longer would have left no decode step before the deadline.
    /// The plan assumed the token cap.
    /// </summary>
    public bool LengthPredictionSkipped { get; init; }
    /// <summary>
    /// The request had a constraint and its answer is complete but was cut short: the deadline (or the token cap) left
    /// only the steps the answer needed, so it was closed on a shortest path, or the deadline ended the job right when
    /// the answer was complete. The text is a whole, valid answer, possibly shorter than the model would have written.
    /// </summary>
    public bool ClosedEarly { get; init; }
    /// <summary>Estimated prefill time.</summary>
    public TimeSpan PredictedPrefillTime { get; init; }
    /// <summary>Measured prefill time.</summary>
    public TimeSpan PrefillTime { get; init; }
    /// <summary>Time from the call to the end of prefill, which yields the first token (queueing included).</summary>
    public TimeSpan TimeToFirstToken { get; init; }
    /// <summary>Estimated decode time of the worst-case length with the chosen α.</summary>
    public TimeSpan PredictedDecodeTime { get; init; }
    /// <summary>Measured decode time.</summary>
    public TimeSpan DecodeTime { get; init; }
    /// <summary>Measured time from the call to the moment the result was complete (queueing included).</summary>
    public TimeSpan TotalTime { get; init; }

    /// <summary>Tokens actually generated.</summary>
    public int ActualLength => Ids.Count;
    /// <summary>Predicted end-to-end time (elapsed before decoding plus predicted decode).</summary>
    public TimeSpan PredictedTotalTime => PrefillTime + PredictedDecodeTime;
    /// <summary>How far past the deadline the job ended (negative: that much early).</summary>
    public TimeSpan Overshoot => TotalTime - Budget;
}
