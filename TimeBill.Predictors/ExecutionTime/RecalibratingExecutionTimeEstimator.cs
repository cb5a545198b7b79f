using MathNet.Numerics.LinearAlgebra;
using TimeBill.Core.Planning;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// An <see cref="IExecutionTimeEstimator"/> that follows the machine: observed prefill and decode-step times correct
/// the profiled coefficients online, so another process, heat or a frequency change shows up in the next plan.
/// <para>
/// Each curve is corrected multiplicatively per term: <c>a' = w_a·a</c>, <c>b' = w_b·b</c>, … The weights <c>w</c>
/// (all 1 at the start) are estimated by recursive least squares with forgetting factor λ (default 0.95, a memory of
/// about 1/(1−λ) = 20 observations) on relative features <c>φ_j = θ_j·f_j(x) / t̂(x)</c> against <c>t / t̂(x)</c>, so every
/// observation counts by its percentage error whatever its size. The features sum to 1, so every observation
/// informs the common scale; differences between the terms' corrections are regularised towards 0 (stabilised
/// forgetting), so terms the observations cannot tell apart (only full-depth steps seen: per-layer cost vs head
/// cost) move together instead of drifting apart. Memory is constant. Terms whose profiled
/// coefficient is 0 stay 0 (the profile found no such cost), and corrected coefficients are clamped at 0.
/// Innovations are clipped to ±50% of the prediction, so a single stall (a GC pause, a page fault) moves the
/// estimate only so far; a real change of any size is still absorbed over a few more observations.
/// </para>
/// Thread-safe: observations are serialised and every reader sees a consistent <see cref="Coefficients"/> snapshot.
/// </summary>
internal sealed class RecalibratingExecutionTimeEstimator : IExecutionTimeEstimator, IExecutionTimeObserver
{
    private const double MaxInnovation = 0.5;
    private readonly Lock _gate = new();
    private readonly TimeProvider _clock;
    private readonly Curve _prefill, _step, _layered;
    private volatile ExecutionTimeCoefficients _current;
    private long _observations;

    /// <summary>An estimator starting from <paramref name="baseline"/> (usually a profile's coefficients).</summary>
    /// <param name="baseline">The profiled coefficients.</param>
    /// <param name="forgettingFactor">λ in (0, 1]: the weight of an observation decays by λ per newer observation of the same curve.</param>
    /// <param name="clock">The clock <see cref="TimePrefill"/> and <see cref="TimeDecodeStep"/> time with (system clock by default).</param>
    /// <exception cref="ArgumentNullException"><paramref name="baseline"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="forgettingFactor"/> is outside (0, 1].</exception>
    public RecalibratingExecutionTimeEstimator(ExecutionTimeCoefficients baseline, double forgettingFactor = 0.95, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        if (!(forgettingFactor > 0 && forgettingFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(forgettingFactor), forgettingFactor, "The forgetting factor λ must lie in (0, 1].");
        Baseline = baseline;
        ForgettingFactor = forgettingFactor;
        _clock = clock ?? TimeProvider.System;
        _prefill = new Curve([baseline.Prefill.A, baseline.Prefill.B, baseline.Prefill.C, baseline.Prefill.D], forgettingFactor);
        _step = new Curve([baseline.Step.P, baseline.Step.Q], forgettingFactor);
        _layered = new Curve([baseline.LayeredStep.P1, baseline.LayeredStep.Q1, baseline.LayeredStep.H], forgettingFactor);
        _current = baseline;
    }

    /// <summary>The coefficients the estimator started from.</summary>
    public ExecutionTimeCoefficients Baseline { get; }

    /// <summary>The forgetting factor λ.</summary>
    public double ForgettingFactor { get; }

    /// <summary>Observations folded in so far.</summary>
    public long Observations => Interlocked.Read(ref _observations);

    /// <inheritdoc />
    public ExecutionTimeCoefficients Coefficients => _current;

    /// <inheritdoc />
    public void ObservePrefill(int promptLength, double milliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        CheckTime(milliseconds);
        double n = promptLength;
        lock (_gate)
        {
            _prefill.Observe([n * n, n, Baseline.Prefill.Calls(n), Baseline.Prefill.Blocks(n)], milliseconds);
            Publish();
        }
    }

    /// <inheritdoc />
    public void ObserveDecodeStep(int kvLength, int? layers, double milliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(kvLength);
        int depth = layers ?? Baseline.LayeredStep.LayerCount;
        if (depth < 1 || depth > Baseline.LayeredStep.LayerCount)
            throw new ArgumentOutOfRangeException(nameof(layers), layers, $"The layer count must lie in [1, {Baseline.LayeredStep.LayerCount}].");
        CheckTime(milliseconds);
        lock (_gate)
        {
            _layered.Observe([(double)depth * kvLength, depth, 1], milliseconds);
            if (depth == Baseline.LayeredStep.LayerCount) _step.Observe([kvLength, 1], milliseconds);
            Publish();
        }
    }

    /// <summary>Times a prefill with this estimator's clock; dispose the result when the prefill is done.</summary>
    public ObservationTimer TimePrefill(int promptLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        return new ObservationTimer(_clock, ms => ObservePrefill(promptLength, ms));
    }

    /// <summary>Times a decode step with this estimator's clock; dispose the result when the step is done.</summary>
    public ObservationTimer TimeDecodeStep(int kvLength, int? layers = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(kvLength);
        return new ObservationTimer(_clock, ms => ObserveDecodeStep(kvLength, layers, ms));
    }

    /// <inheritdoc />
    public double PrefillMilliseconds(int promptLength) => ExecutionTimePredictions.Prefill(_current, promptLength);

    /// <inheritdoc />
    public double PrefillMilliseconds(int promptLength, int cachedLength) => ExecutionTimePredictions.Prefill(_current, promptLength, cachedLength);

    /// <inheritdoc />
    public double DecodeStepMilliseconds(double kvLength, double? layersPerToken = null) =>
        ExecutionTimePredictions.Step(_current, kvLength, layersPerToken);

    /// <inheritdoc />
    public double DecodeMilliseconds(int promptLength, double evictionRatio, int steps, double? layersPerToken = null) =>
        ExecutionTimePredictions.Decode(_current, promptLength, evictionRatio, steps, layersPerToken);

    /// <inheritdoc />
    public double WorstCaseEndToEndMilliseconds(int promptLength, double evictionRatio, int predictedLength, double pessimism,
        int maxNewTokens, double? layersPerToken = null) =>
        ExecutionTimePredictions.WorstCase(_current, promptLength, evictionRatio, predictedLength, pessimism, maxNewTokens, layersPerToken);

    /// <inheritdoc />
    public int MaxDecodeStepsWithin(double budgetMilliseconds, int promptLength, double evictionRatio, double? layersPerToken = null) =>
        ExecutionTimePredictions.MaxSteps(_current, budgetMilliseconds, promptLength, evictionRatio, layersPerToken);

    private static void CheckTime(double milliseconds)
    {
        if (!(milliseconds >= 0) || double.IsInfinity(milliseconds))
            throw new ArgumentOutOfRangeException(nameof(milliseconds), milliseconds, "An observed time must be a finite number of milliseconds ≥ 0.");
    }

    private void Publish()
    {
        var pre = _prefill.Coefficients();
        var step = _step.Coefficients();
        var lay = _layered.Coefficients();
        var b = Baseline.Prefill;
        _current = new ExecutionTimeCoefficients(
            new PrefillCost(pre[0], pre[1], pre[2], pre[3], b.QueryBlock,
                // The warm-prefill terms follow the corrections of the terms they are made of: attention, per-token and fixed work.
                Follow(b.E, b.A, pre[0]), Follow(b.F, b.B, pre[1])!.Value, Follow(b.G, b.B, pre[1]), Follow(b.H, b.C, pre[2]), b.Chunk,
                Follow(b.K, b.B, pre[1])!.Value),
            new DecodeStepCost(step[0], step[1]),
            new LayeredDecodeStepCost(lay[0], lay[1], lay[2], Baseline.LayeredStep.LayerCount));
        Interlocked.Increment(ref _observations);
    }

    // A warm term scaled as the baseline term it is made of was corrected (unchanged while that term is 0).
    private static double? Follow(double? term, double baseline, double corrected) =>
        term is double t && baseline > 0 ? t * corrected / baseline : term;

    /// <summary>One curve <c>Σ θ_j·f_j(x)</c> with multiplicative corrections of its non-zero terms.</summary>
    private sealed class Curve
    {
        private const double RegularisationStrength = 1;
        private const double InitialCommonInformation = 0.1;

        private readonly double[] _baseline;
        private readonly int[] _active;
        private readonly RecursiveLeastSquares? _rls;

        public Curve(double[] baseline, double lambda)
        {
            _baseline = baseline;
            _active = Enumerable.Range(0, baseline.Length).Where(j => baseline[j] > 0).ToArray();
            int n = _active.Length;
            if (n == 0) return;
            // Prior: no correction (w = 1). The common scale starts worth a tenth of an observation (the first few
            // observations decide it; a heavier prior would linger and, through the weakly observed differences,
            // bend the terms apart) and fades like any observation; differences between the terms' corrections are held back by a regulariser that never fades.
            // A uniform slowdown (the common case: a neighbour process, heat, a lower clock) is then learned at full
            // speed, while term-by-term changes need data that tells the terms apart.
            var build = Matrix<double>.Build;
            var common = build.Dense(n, n, 1.0 / n);
            var differences = (build.DenseIdentity(n) - common) * RegularisationStrength;
            _rls = new RecursiveLeastSquares(Enumerable.Repeat(1.0, n).ToArray(), lambda,
                initialInformation: common * InitialCommonInformation + differences, regularisation: differences);
        }

        public void Observe(double[] features, double milliseconds)
        {
            if (_rls is null) return;
            Span<double> phi = stackalloc double[_active.Length];
            double predicted = 0;
            for (int k = 0; k < _active.Length; k++)
            {
                int j = _active[k];
                phi[k] = _baseline[j] * features[j];
                predicted += phi[k];
            }
            if (!(predicted > 0)) return; // Nothing to scale against (for example an empty prompt with no fixed cost).
            for (int k = 0; k < phi.Length; k++) phi[k] /= predicted;
            _rls.Update(phi, milliseconds / predicted, MaxInnovation);
        }

        public double[] Coefficients()
        {
            var c = new double[_baseline.Length];
            for (int k = 0; k < _active.Length; k++)
                c[_active[k]] = _baseline[_active[k]] * Math.Max(0, _rls!.Estimate[k]);
            return c;
        }
    }
}
