namespace TimeBill.Core.Exit;

/// <summary>One threshold of an exit calibration, measured per decoded token on held-out text (full-depth context).</summary>
/// <param name="Threshold">The exit threshold τ (top-1 probability of the exit head).</param>
/// <param name="ClassicLayers">Average layers run per token by classic early exit.</param>
/// <param name="ClassicHeads">Average exit heads evaluated per token by classic early exit.</param>
/// <param name="PredictiveLayers">Average layers run per token by predictive exit (fallback: full depth).</param>
/// <param name="PredictiveHeads">Average exit heads evaluated per token by predictive exit.</param>
/// <param name="ClassicAgreement">Share of tokens whose classic-exit top-1 equals the full model's.</param>
/// <param name="PredictiveAgreement">Share of tokens whose predictive-exit top-1 equals the full model's.</param>
public sealed record ExitCalibrationPoint(
    double Threshold,
    double ClassicLayers,
    double ClassicHeads,
    double PredictiveLayers,
    double PredictiveHeads,
    double ClassicAgreement,
    double PredictiveAgreement)
{
    /// <summary>Average layers per token of <paramref name="strategy"/>.</summary>
    public double Layers(ExitStrategy strategy) => strategy == ExitStrategy.Classic ? ClassicLayers : PredictiveLayers;

    /// <summary>Average exit heads evaluated per token of <paramref name="strategy"/>.</summary>
    public double Heads(ExitStrategy strategy) => strategy == ExitStrategy.Classic ? ClassicHeads : PredictiveHeads;
}

/// <summary>
/// The calibration of an exit model: for a sweep of thresholds, how deep tokens go and how often the exit agrees
/// with the full model. The planner prices an exit policy with <see cref="ExpectedLayersPerToken"/> (a layer-aware
/// decode-step model times the expected depth) and turns a target depth into a threshold with
/// <see cref="ThresholdForAverageLayers"/>.
/// </summary>
public sealed class ExitCalibration
{
    /// <summary>Creates a calibration over <paramref name="layerCount"/> layers; points are sorted by threshold.</summary>
    /// <exception cref="ArgumentException">No points, or a layer count below 1.</exception>
    public ExitCalibration(int layerCount, IEnumerable<ExitCalibrationPoint> points)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layerCount);
        ArgumentNullException.ThrowIfNull(points);
        LayerCount = layerCount;
        Points = points.OrderBy(p => p.Threshold).ToArray();
        if (Points.Count == 0) throw new ArgumentException("a calibration needs at least one threshold.", nameof(points));
    }

    /// <summary>Layers of the model (the depth of a token that never exits).</summary>
    public int LayerCount { get; }

    /// <summary>Measured thresholds, ascending.</summary>
    public IReadOnlyList<ExitCalibrationPoint> Points { get; }

    /// <summary>
    /// Expected layers run per decoded token under <paramref name="policy"/>: the full depth when off or τ = ∞,
    /// otherwise interpolated linearly in τ between calibrated thresholds (clamped at the ends of the sweep).
    /// </summary>
    public double ExpectedLayersPerToken(ExitPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        if (policy.IsOff) return LayerCount;
        double tau = ResolveThreshold(policy);
        if (double.IsPositiveInfinity(tau)) return LayerCount;
        return Interpolate(tau, p => p.Layers(policy.Strategy));
    }

    /// <summary>Expected exit heads evaluated per decoded token under <paramref name="policy"/>.</summary>
    public double ExpectedHeadsPerToken(ExitPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        if (policy.IsOff) return 0;
        return Interpolate(ResolveThreshold(policy), p => p.Heads(policy.Strategy));
    }

    /// <summary>The policy's threshold: its own τ, or the one its target depth maps to.</summary>
    public double ResolveThreshold(ExitPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.Threshold is double t) return t;
        if (policy.TargetAverageLayers is double d) return ThresholdForAverageLayers(d, policy.Strategy);
        return double.PositiveInfinity;
    }

    /// <summary>
    /// The largest calibrated threshold (best quality) whose average depth is at most <paramref name="averageLayers"/>;
    /// +∞ (never exit) when the target is the full depth or more; the smallest threshold when no point is that shallow.
    /// </summary>
    public double ThresholdForAverageLayers(double averageLayers, ExitStrategy strategy)
    {
        if (averageLayers >= LayerCount) return double.PositiveInfinity;
        double best = Points[0].Threshold;
        foreach (var point in Points)
            if (point.Layers(strategy) <= averageLayers) best = Math.Max(best, point.Threshold);
        return best;
    }

    private double Interpolate(double tau, Func<ExitCalibrationPoint, double> value)
    {
        if (double.IsPositiveInfinity(tau)) return value(Points[^1]);
        if (tau <= Points[0].Threshold) return value(Points[0]);
        for (int i = 1; i < Points.Count; i++)
        {
            var (lo, hi) = (Points[i - 1], Points[i]);
            if (tau <= hi.Threshold)
            {
                if (double.IsPositiveInfinity(hi.Threshold)) return value(lo);
                double w = (tau - lo.Threshold) / (hi.Threshold - lo.Threshold);
                return value(lo) + w * (value(hi) - value(lo));
            }
        }
        return value(Points[^1]);
    }
}
