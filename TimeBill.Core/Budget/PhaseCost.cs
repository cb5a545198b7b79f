namespace TimeBill.Core.Budget;

/// <summary>
/// The measured cost of one of the generator's own phases that the execution-time estimator does not model (KV
/// eviction, the self-probe's head, assembling the result after the last step), learned from the phase's past runs:
/// <c>t(x) ≈ c0 + c1·x</c> by least squares with exponential forgetting (an observation's weight decays by λ per
/// newer one), where x is the phase's size (prompt tokens for eviction, generated tokens for the result). While all
/// observations share one size, the slope is unknown and the cost is taken as proportional to x (a larger job is priced
/// larger). <see cref="Upper"/> adds two standard deviations of the recent residuals: the deadline check uses it, since
/// these phases vary far more than a decode step does. Before any observation every cost is 0.
/// Not thread-safe: the generator uses it under its request gate.
/// </summary>
internal sealed class PhaseCost(double forgetting = 0.9)
{
    private double _w, _wx, _wxx, _wy, _wxy, _wr2;

    /// <summary>Observations so far.</summary>
    public int Count { get; private set; }

    /// <summary>Folds in one run of size <paramref name="size"/> that took <paramref name="milliseconds"/>.</summary>
    public void Observe(double size, double milliseconds)
    {
        if (!(milliseconds >= 0) || double.IsInfinity(milliseconds) || !(size >= 0)) return;
        double residual = Count == 0 ? 0 : milliseconds - Mean(size);
        _w = forgetting * _w + 1;
        _wx = forgetting * _wx + size;
        _wxx = forgetting * _wxx + size * size;
        _wy = forgetting * _wy + milliseconds;
        _wxy = forgetting * _wxy + size * milliseconds;
        _wr2 = forgetting * _wr2 + residual * residual;
        Count++;
    }

    /// <summary>The expected time of a run of size <paramref name="size"/> (ms, ≥ 0).</summary>
    public double Mean(double size)
    {
        if (Count == 0) return 0;
        double meanX = _wx / _w, meanY = _wy / _w;
        double varianceX = _wxx / _w - meanX * meanX;
        if (varianceX > 1e-9 * Math.Max(1, meanX * meanX))
        {
            double slope = Math.Max(0, (_wxy / _w - meanX * meanY) / varianceX);
            return Math.Max(0, meanY + slope * (size - meanX));
        }
        return meanX > 0 ? meanY * size / meanX : meanY;
    }

    /// <summary>A time the phase rarely exceeds: <see cref="Mean"/> plus two standard deviations of recent residuals.</summary>
    public double Upper(double size) => Count == 0 ? 0 : Mean(size) + 2 * Math.Sqrt(_wr2 / _w);
}
