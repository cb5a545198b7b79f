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

    /// <summary>Decided before decoding: even the largest eviction ratio cannot meet the deadline (Kill drops the job).</summary>
    Infeasible,
}
