namespace TimeBill.Core.Budget;

/// <summary>
/// How far decode steps run past the execution-time estimator's figure, learned from recent steps: the relative miss
/// <c>m = max(0, actual / estimated − 1)</c> with exponential forgetting (an observation's weight decays by λ per newer
/// one). <see cref="Charge(double)"/> prices a step at <c>estimate · (1 + mean(m) + 2·sd(m))</c>: steps that met their
/// estimate add nothing, a machine that slowed down is charged its slowdown, and occasional jitter buys a margin of
/// about two standard deviations. Not thread-safe: the generator uses it under its request gate.
/// </summary>
internal sealed class StepOverrun(double forgetting = 0.99)
{
    private double _w, _wm, _wmm;

    /// <summary>Folds in one step estimated at <paramref name="estimatedMs"/> that took <paramref name="actualMs"/>.</summary>
    public void Observe(double estimatedMs, double actualMs)
    {
        if (!(estimatedMs > 0) || !(actualMs >= 0) || double.IsInfinity(actualMs) || double.IsInfinity(estimatedMs)) return;
        double miss = Math.Max(0, actualMs / estimatedMs - 1);
        _w = forgetting * _w + 1;
        _wm = forgetting * _wm + miss;
        _wmm = forgetting * _wmm + miss * miss;
    }

    /// <summary>
    /// <c>1 + mean(m)</c>: what steps take on average per estimated millisecond, by which the planner stretches the
    /// estimator's decode time (the two-deviation margin only matters for the last step, which the check covers).
    /// </summary>
    public double MeanFactor => _w == 0 ? 1 : 1 + _wm / _w;

    /// <summary>The time the deadline check charges a step estimated at <paramref name="estimatedMs"/>.</summary>
    public double Charge(double estimatedMs) => Charge(estimatedMs, estimatedMs * estimatedMs);

    /// <summary>
    /// The time charged for steps whose estimates sum to <paramref name="estimatedMs"/> (and their squares to
    /// <paramref name="squaresMs2"/>): the mean miss on every step, two deviations on the sum (steps miss independently).
    /// </summary>
    public double Charge(double estimatedMs, double squaresMs2)
    {
        if (_w == 0) return estimatedMs;
        double mean = _wm / _w, variance = Math.Max(0, _wmm / _w - mean * mean);
        return estimatedMs * (1 + mean) + 2 * Math.Sqrt(variance * squaresMs2);
    }
}
