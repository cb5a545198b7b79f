using TimeBill.Core.Planning;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// An <see cref="IExecutionTimeEstimator"/> over fixed coefficients, typically those of a loaded
/// <see cref="ExecutionTimeProfile"/>. Immutable, hence thread-safe. For one that follows the machine while the
/// library runs, use <see cref="RecalibratingExecutionTimeEstimator"/>.
/// </summary>
internal sealed class ExecutionTimeEstimator : IExecutionTimeEstimator
{
    /// <summary>An estimator that predicts with <paramref name="coefficients"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="coefficients"/> is null.</exception>
    public ExecutionTimeEstimator(ExecutionTimeCoefficients coefficients)
    {
        ArgumentNullException.ThrowIfNull(coefficients);
        Coefficients = coefficients;
    }

    /// <inheritdoc />
    public ExecutionTimeCoefficients Coefficients { get; }

    /// <inheritdoc />
    public double PrefillMilliseconds(int promptLength) => ExecutionTimePredictions.Prefill(Coefficients, promptLength);

    /// <inheritdoc />
    public double PrefillMilliseconds(int promptLength, int cachedLength) => ExecutionTimePredictions.Prefill(Coefficients, promptLength, cachedLength);

    /// <inheritdoc />
    public double DecodeStepMilliseconds(double kvLength, double? layersPerToken = null) =>
        ExecutionTimePredictions.Step(Coefficients, kvLength, layersPerToken);

    /// <inheritdoc />
    public double DecodeMilliseconds(int promptLength, double evictionRatio, int steps, double? layersPerToken = null) =>
        ExecutionTimePredictions.Decode(Coefficients, promptLength, evictionRatio, steps, layersPerToken);

    /// <inheritdoc />
    public double WorstCaseEndToEndMilliseconds(int promptLength, double evictionRatio, int predictedLength, double pessimism,
        int maxNewTokens, double? layersPerToken = null) =>
        ExecutionTimePredictions.WorstCase(Coefficients, promptLength, evictionRatio, predictedLength, pessimism, maxNewTokens, layersPerToken);

    /// <inheritdoc />
    public int MaxDecodeStepsWithin(double budgetMilliseconds, int promptLength, double evictionRatio, double? layersPerToken = null) =>
        ExecutionTimePredictions.MaxSteps(Coefficients, budgetMilliseconds, promptLength, evictionRatio, layersPerToken);
}
