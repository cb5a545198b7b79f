using TimeBill.Core.Planning;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// What a predictor's network outputs: a distribution over length buckets of width <see cref="BucketWidth"/>
/// (trained with cross-entropy), or, when <see cref="BucketWidth"/> is 0, one number regressed on the length (MSE).
/// </summary>
/// <param name="BucketWidth">B in tokens; 0 for regression.</param>
/// <param name="MaxLength">Longest response (the model's context).</param>
internal sealed record LengthHeadSpec(int BucketWidth, int MaxLength)
{
    /// <summary>A regression head.</summary>
    public static LengthHeadSpec Regression(int maxLength) => new(0, maxLength);

    /// <summary>A classifier with <paramref name="count"/> equal-width buckets (the coarse baselines).</summary>
    public static LengthHeadSpec Coarse(int count, int maxLength) => new(LengthBuckets.WithCount(count, maxLength).Width, maxLength);

    /// <summary>True for the MSE head.</summary>
    public bool IsRegression => BucketWidth == 0;

    /// <summary>The buckets of the output (regression predictions are reported on 16-token buckets).</summary>
    public LengthBuckets Buckets => new(IsRegression ? 16 : BucketWidth, MaxLength);

    /// <summary>Network outputs: bucket count, or 1.</summary>
    public int Outputs => IsRegression ? 1 : Buckets.Count;
}
