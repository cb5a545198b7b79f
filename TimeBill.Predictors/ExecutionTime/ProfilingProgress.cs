namespace TimeBill.Predictors.ExecutionTime;

/// <summary>Progress of a profiling run, reported after every warm-up call and every sample (a prefill or a batch of steps).</summary>
/// <param name="Phase">The part in progress.</param>
/// <param name="Completed">Reports so far over the whole run.</param>
/// <param name="Total">Reports the whole run makes (warm-up included); it shrinks when long calls or the time budget cut repetitions.</param>
/// <param name="Description">What was just measured, for display.</param>
public sealed record ProfilingProgress(ProfilingPhase Phase, int Completed, int Total, string Description);
