using TimeBill.Core.Generation;

namespace TimeBill.Core.Budget;

/// <summary>One item of a budgeted stream: a token as it comes, and finally the result.</summary>
/// <param name="Token">The token (default on the final item).</param>
/// <param name="Result">Set on the final item only.</param>
public readonly record struct BudgetedStreamItem(GeneratedToken Token, BudgetedResult? Result)
{
    /// <summary>Whether this is the final item carrying the result.</summary>
    public bool IsFinal => Result is not null;
}
