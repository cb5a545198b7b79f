namespace TimeBill.Core.Budget;

/// <summary>
/// How far decode steps run past the execution-time estimator's figure, learned from the last
/// <see cref="Window"/> steps: the relative miss <c>m = max(0, actual / estimated − 1)</c>. A step is charged
/// <c>estimate · (1 + q99(m))</c>, the 99th percentile of recent misses: steps that met their estimate add nothing,
/// a machine that slowed down is charged its slowdown, and a rare stall (a descheduled thread, a collection) raises
/// one percentile rank instead of a standard deviation that a single 100× step would inflate for every later step.
/// Several steps are charged their mean miss each and one step's tail beyond it. Not thread-safe: the generator uses
/// it under its request gate.
/// </summary>
internal sealed class StepOverrun
{
    /// <summary>How many recent steps the charge is learned from.</summary>
    public const int Window = 256;

    private readonly double[] _recent = new double[Window], _sorted = new double[Window];
    private int _count, _next;
    private double _sum;

    /// <summary>Folds in one step estimated at <paramref name="estimatedMs"/> that took <paramref name="actualMs"/>.</summary>
    public void Observe(double estimatedMs, double actualMs)
    {
        if (!(estimatedMs > 0) || !(actualMs >= 0) || double.IsInfinity(actualMs) || double.IsInfinity(estimatedMs)) return;
        double miss = Math.Max(0, actualMs / estimatedMs - 1);
        if (_count == Window)
        {
            double oldest = _recent[_next];
            _sum -= oldest;
            int at = Array.BinarySearch(_sorted, 0, _count, oldest);
            Array.Copy(_sorted, at + 1, _sorted, at, _count - at - 1);
            _count--;
        }
        _recent[_next] = miss;
        _next = (_next + 1) % Window;
        _sum += miss;
        int insert = Array.BinarySearch(_sorted, 0, _count, miss);
        if (insert < 0) insert = ~insert;
        Array.Copy(_sorted, insert, _sorted, insert + 1, _count - insert);
        _sorted[insert] = miss;
        _count++;
    }

    /// <summary>
    /// <c>1 + mean(m)</c>: what steps take on average per estimated millisecond, by which the planner stretches the
    /// estimator's decode time (the tail only matters for the last step, which the check covers).
    /// </summary>
    public double MeanFactor => _count == 0 ? 1 : 1 + _sum / _count;

    /// <summary>The 99th percentile of the recent misses (0 before any step).</summary>
    public double TailMiss => _count == 0 ? 0 : _sorted[Math.Min(_count - 1, (int)Math.Ceiling(0.99 * _count) - 1)];

    /// <summary>The time the deadline check charges a step estimated at <paramref name="estimatedMs"/>.</summary>
    public double Charge(double estimatedMs) => estimatedMs * (1 + TailMiss);

    /// <summary>
    /// The time charged for steps whose estimates sum to <paramref name="estimatedMs"/>, the longest being
    /// <paramref name="longestMs"/>: the mean miss on every step, and one step's tail beyond it.
    /// </summary>
    public double Charge(double estimatedMs, double longestMs) =>
        estimatedMs * MeanFactor + longestMs * Math.Max(0, TailMiss - (MeanFactor - 1));
}
