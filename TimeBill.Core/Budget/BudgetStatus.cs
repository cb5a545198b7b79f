namespace TimeBill.Core.Budget;

/// <summary>How a budgeted job ended.</summary>
public enum BudgetStatus
{
    /// <summary>The response ended (stop token or token cap) within the budget.</summary>
    Completed,

    /// <summary>The deadline passed: killed before the response ended (Kill), or finished late (Skip-Next).</summary>
    DeadlineExceeded,

    /// <summary>Not run: an earlier job of the stream overran under Skip-Next.</summary>
    Skipped,

    /// <summary>
    /// Missed, as the planner predicted before decoding: even the largest eviction ratio could not make the worst case
    /// fit (the job ran at α_max anyway), or not even the prefill fits the budget (Kill then drops the job unrun).
    /// </summary>
    Infeasible,
}
