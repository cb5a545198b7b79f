namespace TimeBill.Core.Budget;

/// <summary>
/// Runs a stream of jobs with per-job deadlines on one generator, one at a time in release order. A job's budget
/// runs from its release, so time spent waiting for an earlier job counts against it. Under
/// <see cref="OverrunStrategy.SkipNext"/>, a job that finishes past its deadline causes every job released while it
/// ran to be skipped (status <see cref="BudgetStatus.Skipped"/>); under Kill a job never runs past its deadline.
/// </summary>
internal sealed class JobStreamRunner
{
    private readonly IBudgetedGenerator _generator;
    private readonly TimeProvider _time;

    /// <summary>Creates a runner over <paramref name="generator"/>; <paramref name="time"/> is injectable for tests.</summary>
    public JobStreamRunner(IBudgetedGenerator generator, TimeProvider? time = null)
    {
        _generator = generator ?? throw new ArgumentNullException(nameof(generator));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Runs the jobs and returns one result per job, in release order.</summary>
    public async Task<IReadOnlyList<BudgetedResult>> RunAsync(IEnumerable<StreamJob> jobs, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var ordered = jobs.OrderBy(j => j.Release).ToList();
        var results = new List<BudgetedResult>(ordered.Count);
        long start = _time.GetTimestamp();
        TimeSpan skipReleasedBefore = TimeSpan.MinValue;
        foreach (var job in ordered)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (job.Release < skipReleasedBefore)
            {
                results.Add(new BudgetedResult { Status = BudgetStatus.Skipped, Budget = job.Request.Budget });
                progress?.Report(results.Count);
                continue;
            }
            var now = _time.GetElapsedTime(start);
            if (now < job.Release) await Task.Delay(job.Release - now, _time, cancellationToken);

            // The job's budget runs from its release: what it waited for an earlier job is already spent.
            var waited = _time.GetElapsedTime(start) - job.Release;
            var remaining = job.Request.Budget - waited;
            BudgetedResult result = remaining <= TimeSpan.Zero
                ? new BudgetedResult { Status = job.Request.Overrun == OverrunStrategy.Kill ? BudgetStatus.Infeasible : BudgetStatus.Skipped, Budget = job.Request.Budget, TotalTime = waited }
                : await _generator.GenerateAsync(job.Request with { Budget = remaining }, cancellationToken);
            // Total: from the release to the moment the result came back, so the runner's own hand-over counts too.
            result = result with { Budget = job.Request.Budget, TotalTime = _time.GetElapsedTime(start) - job.Release };
            results.Add(result);
            progress?.Report(results.Count);

            if (job.Request.Overrun == OverrunStrategy.SkipNext && result.Status == BudgetStatus.DeadlineExceeded)
                skipReleasedBefore = _time.GetElapsedTime(start);
        }
        return results;
    }
}
