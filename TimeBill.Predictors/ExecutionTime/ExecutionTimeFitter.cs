using MathNet.Numerics;
using TimeBill.Core.Planning;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// Fits the latency model to profiled points by non-negative least squares:
/// <c>t_prefill = a·Nx² + b·Nx + c</c> (plus <c>d·⌈Nx / block⌉</c> when the prefill runs attention in blocks,
/// <see cref="ExecutionTimeMeasurements.PrefillQueryBlock"/>; <c>c</c> once per forward call when it runs in chunks,
/// <see cref="ExecutionTimeMeasurements.PrefillChunk"/>), the full-depth <c>t_step = p·Nkv + q</c> (on the steps that ran every layer) and
/// the layer-aware <c>t_step = ℓ·(p1·Nkv + q1) + h</c> (on every step). Every coefficient is constrained to be ≥ 0:
/// negative work does not exist, and a negative intercept would predict negative times for short inputs.
/// <para>
/// Residuals are relative (each row is divided by its measured time), because the quality that matters to a deadline
/// is the percentage error: an absolute fit would let the long prompts dominate and miss the short ones by a wide
/// margin. Points flagged <c>HeldOut</c> are not fitted; they measure the held-out MAPE.
/// </para>
/// </summary>
internal static class ExecutionTimeFitter
{
    /// <summary>Fits all three curves.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="measurements"/> is null.</exception>
    /// <exception cref="ArgumentException">Too few fitting points for a curve, or a non-positive measured time.</exception>
    public static ExecutionTimeFit Fit(ExecutionTimeMeasurements measurements)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        if (measurements.LayerCount < 1)
            throw new ArgumentException($"The layer count must be ≥ 1, not {measurements.LayerCount}.", nameof(measurements));

        int block = measurements.PrefillQueryBlock, chunk = measurements.PrefillChunk;
        if (block < 0) throw new ArgumentException($"The prefill query block must be ≥ 0, not {block}.", nameof(measurements));
        if (chunk < 0) throw new ArgumentException($"The prefill chunk must be ≥ 0, not {chunk}.", nameof(measurements));
        var shape = new PrefillCost(0, 0, 0, QueryBlock: block, Chunk: chunk);
        var prefill = measurements.Prefill.Where(m => m.CachedLength == 0).Select(m => new Point(block > 0
            ? [(double)m.PromptLength * m.PromptLength, m.PromptLength, shape.Calls(m.PromptLength), shape.Blocks(m.PromptLength)]
            : [(double)m.PromptLength * m.PromptLength, m.PromptLength, shape.Calls(m.PromptLength)], m.Milliseconds, m.HeldOut)).ToList();
        var (pre, preQuality) = FitCurve(prefill, "prefill", minFitPoints: block > 0 ? 4 : 3);

        var full = measurements.DecodeSteps.Where(m => m.Layers == measurements.LayerCount)
            .Select(m => new Point([m.KvLength, 1], m.Milliseconds, m.HeldOut)).ToList();
        var (step, stepQuality) = FitCurve(full, "full-depth decode step", minFitPoints: 2);

        LayeredDecodeStepCost layered;
        FitQuality layeredQuality;
        bool severalDepths = measurements.DecodeSteps.Select(m => m.Layers).Distinct().Count() >= 2;
        if (severalDepths)
        {
            var all = measurements.DecodeSteps.Select(m => new Point([(double)m.Layers * m.KvLength, m.Layers, 1], m.Milliseconds, m.HeldOut)).ToList();
            var (x, q) = FitCurve(all, "layer-aware decode step", minFitPoints: 3);
            layered = new LayeredDecodeStepCost(x[0], x[1], x[2], measurements.LayerCount);
            layeredQuality = q;
        }
        else
        {
            // Only full steps were profiled: spread the full step over the layers, no separate head cost.
            int l = measurements.LayerCount;
            layered = new LayeredDecodeStepCost(step[0] / l, step[1] / l, 0, l);
            layeredQuality = stepQuality;
        }

        var cold = new PrefillCost(pre[0], pre[1], pre[2], block > 0 ? pre[3] : 0, block, Chunk: chunk);
        var (prefillCost, warmQuality) = FitCachedPrefill(cold, measurements.Prefill.Where(m => m.CachedLength > 0).ToList());
        var coefficients = new ExecutionTimeCoefficients(prefillCost, new DecodeStepCost(step[0], step[1]), layered);
        return new ExecutionTimeFit(coefficients, preQuality, stepQuality, layeredQuality, warmQuality);
    }

    /// <summary>
    /// The warm terms on the warm points, the cold curve's attention and block terms held fixed (relative residuals,
    /// non-negative): <c>G</c>, <c>H</c>, <c>K</c>, <c>E</c> and <c>F</c> of <c>t(Nc, Nn) = A·Nn² + D·⌈Nn / block⌉ + G·Nn
    /// + H + K·min(Nn, 64) + E·Nc·Nn + F·Nc</c> (<see cref="PrefillCost"/>) from seven fitting points on, only <c>E</c> and
    /// <c>F</c> (the cold curve's <c>B</c> and <c>C</c>) from two; the cold cost unchanged with fewer.
    /// </summary>
    private static (PrefillCost Cost, FitQuality? Quality) FitCachedPrefill(PrefillCost cold, List<PrefillMeasurement> warm)
    {
        int fitting = warm.Count(m => !m.HeldOut);
        if (fitting < 2) return (cold, null);
        if (fitting >= 7)
        {
            var attentionAndBlocks = cold with { B = 0, C = 0 };
            var own = warm.Select(m => new Point([m.PromptLength, cold.Calls(m.PromptLength), (double)m.CachedLength * m.PromptLength, m.CachedLength,
                    Math.Min(m.PromptLength, PrefillCost.ShortTokens)], m.Milliseconds,
                m.HeldOut, Offset: attentionAndBlocks.Milliseconds(m.PromptLength))).ToList();
            var (w, q) = FitCurve(own, "cached-prefill", minFitPoints: 7);
            return (cold with { G = w[0], H = w[1], E = w[2], F = w[3], K = w[4] }, q);
        }
        var points = warm.Select(m => new Point([(double)m.CachedLength * m.PromptLength, m.CachedLength], m.Milliseconds, m.HeldOut,
            Offset: cold.Milliseconds(m.PromptLength))).ToList();
        var (x, quality) = FitCurve(points, "cached-prefill", minFitPoints: 2);
        return (cold with { E = x[0], F = x[1] }, quality);
    }

    /// <summary><c>100 · mean(|predicted − measured| / measured)</c>; NaN for no points.</summary>
    internal static double MapePercent(IReadOnlyList<double> predicted, IReadOnlyList<double> measured)
    {
        if (predicted.Count != measured.Count) throw new ArgumentException("Predicted and measured differ in length.", nameof(predicted));
        if (measured.Count == 0) return double.NaN;
        double sum = 0;
        for (int i = 0; i < measured.Count; i++) sum += Math.Abs(predicted[i] - measured[i]) / measured[i];
        return 100 * sum / measured.Count;
    }

    /// <summary>A measured point: <c>Milliseconds ≈ Offset + Σ Features·x</c>, the offset a part of the time known already.</summary>
    private sealed record Point(double[] Features, double Milliseconds, bool HeldOut, double Offset = 0);

    private static (double[] Coefficients, FitQuality Quality) FitCurve(List<Point> points, string curve, int minFitPoints)
    {
        foreach (var p in points)
            if (!(p.Milliseconds > 0) || double.IsInfinity(p.Milliseconds))
                throw new ArgumentException($"The {curve} measurements contain a time of {p.Milliseconds} ms; every measured time must be positive and finite.", "measurements");

        var fit = points.Where(p => !p.HeldOut).ToList();
        var held = points.Where(p => p.HeldOut).ToList();
        if (fit.Count < minFitPoints)
            throw new ArgumentException($"The {curve} curve needs at least {minFitPoints} points that are not held out; it has {fit.Count}.", "measurements");

        int cols = fit[0].Features.Length;
        var design = new double[fit.Count, cols];
        var target = new double[fit.Count];
        for (int i = 0; i < fit.Count; i++)
        {
            for (int j = 0; j < cols; j++) design[i, j] = fit[i].Features[j] / fit[i].Milliseconds;
            target[i] = 1 - fit[i].Offset / fit[i].Milliseconds;
        }
        double[] x = NonNegativeLeastSquares.Solve(design, target);

        double Predict(Point p) => p.Offset + p.Features.Select((f, j) => f * x[j]).Sum();
        var fitPredicted = fit.Select(Predict).ToArray();
        var fitMeasured = fit.Select(p => p.Milliseconds).ToArray();
        double r2 = fit.Count >= 2 && fitMeasured.Distinct().Count() >= 2
            ? GoodnessOfFit.CoefficientOfDetermination(fitPredicted, fitMeasured)
            : double.NaN;
        var quality = new FitQuality(
            HeldOutMapePercent: MapePercent(held.Select(Predict).ToArray(), held.Select(p => p.Milliseconds).ToArray()),
            FitMapePercent: MapePercent(fitPredicted, fitMeasured),
            RSquared: r2,
            FitPoints: fit.Count,
            HeldOutPoints: held.Count);
        return (x, quality);
    }
}
