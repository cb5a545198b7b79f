namespace TimeBill.Predictors.ExecutionTime;

/// <summary>Progress of a profiling run, reported after every timed call.</summary>
/// <param name="Phase">The part in progress.</param>
/// <param name="Completed">Calls done so far over the whole run.</param>
/// <param name="Total">Calls the whole run makes (warm-up included).</param>
/// <param name="Description">What was just measured, for display.</param>
public sealed record ProfilingProgress(ProfilingPhase Phase, int Completed, int Total, string Description);
