namespace TimeBill.Core.Budget;

/// <summary>
/// How far work (decode steps, prefills) runs past the execution-time estimator's figure, learned from the last
/// <see cref="Window"/> runs: the relative miss <c>m = max(0, actual / estimated − 1)</c>. A run is charged
/// <c>estimate · (1 + q99(m))</c>, the 99th percentile of recent misses: runs that met their estimate add nothing,
/// a machine that slowed down is charged its slowdown, and a rare stall (a descheduled thread, a collection) raises
/// one percentile rank instead of a standard deviation that a single 100× run would inflate for every later one.
/// Several steps are charged their mean miss each and one step's tail beyond it. Not thread-safe: the generator uses
/// it on its engine's worker.
/// </summary>
internal sealed class EstimateOverrun
{
    /// <summary>How many recent runs the charge is learned from.</summary>
    public const int Window = RecentValues.Window;

    private readonly RecentValues _misses = new();

    /// <summary>Folds in one run estimated at <paramref name="estimatedMs"/> that took <paramref name="actualMs"/>.</summary>
    public void Observe(double estimatedMs, double actualMs)
    {
        if (!(estimatedMs > 0) || !(actualMs >= 0) || double.IsInfinity(actualMs) || double.IsInfinity(estimatedMs)) return;
        _misses.Add(Math.Max(0, actualMs / estimatedMs - 1));
    }

    /// <summary>
    /// <c>1 + mean(m)</c>: what runs take on average per estimated millisecond, by which the planner stretches the
    /// estimator's decode time (the tail only matters for the last step, which the check covers).
    /// </summary>
    public double MeanFactor => 1 + _misses.Mean;

    /// <summary>The 99th percentile of the recent misses (0 before any run).</summary>
    public double TailMiss => _misses.P99;

    /// <summary>The time the deadline check charges a run estimated at <paramref name="estimatedMs"/>.</summary>
    public double Charge(double estimatedMs) => estimatedMs * (1 + TailMiss);

    /// <summary>
    /// The time charged for steps whose estimates sum to <paramref name="estimatedMs"/>, the longest being
    /// <paramref name="longestMs"/>: the mean miss on every step, and one step's tail beyond it.
    /// </summary>
    public double Charge(double estimatedMs, double longestMs) =>
        estimatedMs * MeanFactor + longestMs * Math.Max(0, TailMiss - (MeanFactor - 1));
}
