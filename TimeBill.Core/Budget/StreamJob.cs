namespace TimeBill.Core.Budget;

/// <summary>A job of a stream: a request released at <paramref name="Release"/> after the stream starts.</summary>
/// <param name="Release">When the job becomes available, relative to the stream's start.</param>
/// <param name="Request">The request; its budget runs from the release.</param>
internal sealed record StreamJob(TimeSpan Release, BudgetedRequest Request)
{
    /// <summary>A periodic stream: job i is released at i·period with budget = period (the paper's setting).</summary>
    public static IEnumerable<StreamJob> Periodic(IEnumerable<BudgetedRequest> requests, TimeSpan period)
    {
        if (period <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(period), period, "the period must be positive.");
        return requests.Select((request, i) => new StreamJob(period * i, request with { Budget = period }));
    }
}
