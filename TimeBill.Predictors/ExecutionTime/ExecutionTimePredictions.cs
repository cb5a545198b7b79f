using TimeBill.Core.Planning;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>The prediction formulas of <see cref="IExecutionTimeEstimator"/> over one coefficient snapshot, with argument checks.</summary>
internal static class ExecutionTimePredictions
{
    public static double Prefill(ExecutionTimeCoefficients k, int promptLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        return k.Prefill.Milliseconds(promptLength);
    }

    public static double Prefill(ExecutionTimeCoefficients k, int promptLength, int cachedLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cachedLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cachedLength, promptLength);
        return k.Prefill.Milliseconds(cachedLength, promptLength - cachedLength);
    }

    public static double Step(ExecutionTimeCoefficients k, double kvLength, double? layersPerToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(kvLength);
        return k.StepFor(layersPerToken).StepMilliseconds(kvLength);
    }

    public static double Decode(ExecutionTimeCoefficients k, int promptLength, double evictionRatio, int steps, double? layersPerToken)
    {
        double kv0 = KeptPromptEntries(promptLength, evictionRatio);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        return k.StepFor(layersPerToken).StepsMilliseconds(kv0, steps);
    }

    public static double WorstCase(ExecutionTimeCoefficients k, int promptLength, double evictionRatio, int predictedLength,
        double pessimism, int maxNewTokens, double? layersPerToken)
    {
        double kv0 = KeptPromptEntries(promptLength, evictionRatio);
        int nw = WorstCaseResponseLength.Compute(predictedLength, pessimism, maxNewTokens);
        double decode = nw <= 1 ? 0 : k.StepFor(layersPerToken).StepsMilliseconds(kv0, nw - 1);
        return k.Prefill.Milliseconds(promptLength) + decode;
    }

    public static int MaxSteps(ExecutionTimeCoefficients k, double budgetMilliseconds, int promptLength, double evictionRatio, double? layersPerToken)
    {
        double kv0 = KeptPromptEntries(promptLength, evictionRatio);
        return k.StepFor(layersPerToken).MaxStepsWithin(budgetMilliseconds, kv0);
    }

    /// <summary><c>(1 − α)·Nx</c>, the prompt entries the cache keeps after eviction.</summary>
    public static double KeptPromptEntries(int promptLength, double evictionRatio)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        if (!(evictionRatio >= 0 && evictionRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(evictionRatio), evictionRatio, "The eviction ratio α must lie in [0, 1].");
        return (1 - evictionRatio) * promptLength;
    }
}
