namespace TimeBill.Core.Budget;

/// <summary>"The best response within T": generation that plans its work to meet a deadline.</summary>
public interface IBudgetedGenerator
{
    /// <summary>Generates a response within <see cref="BudgetedRequest.Budget"/>, measured from this call.</summary>
    /// <exception cref="ArgumentException">A bad request (T ≤ 0, k &lt; 1, α_max outside (0, 1), empty or too long prompt).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the generator stays usable.</exception>
    Task<BudgetedResult> GenerateAsync(BudgetedRequest request, CancellationToken cancellationToken = default);

    /// <summary>Streams the tokens as they come; the last item carries the result.</summary>
    IAsyncEnumerable<BudgetedStreamItem> StreamAsync(BudgetedRequest request, CancellationToken cancellationToken = default);
}
