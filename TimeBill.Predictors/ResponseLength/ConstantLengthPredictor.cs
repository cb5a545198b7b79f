using TimeBill.Core.Planning;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>The lower line every predictor is judged against: the same N̂ for every prompt (the training mean or median).</summary>
public sealed class ConstantLengthPredictor : IResponseLengthPredictor
{
    /// <summary>Predicts <paramref name="length"/> always.</summary>
    public ConstantLengthPredictor(string modelIdentity, LengthBuckets buckets, double length)
    {
        ModelIdentity = modelIdentity;
        Buckets = buckets;
        Length = length;
    }

    /// <summary>The training set's mean response length.</summary>
    internal static ConstantLengthPredictor Mean(string modelIdentity, LengthBuckets buckets, IEnumerable<LengthRecord> train) =>
        new(modelIdentity, buckets, train.Average(r => r.ResponseLength));

    /// <summary>The training set's median response length.</summary>
    internal static ConstantLengthPredictor Median(string modelIdentity, LengthBuckets buckets, IEnumerable<LengthRecord> train) =>
        new(modelIdentity, buckets, MathNet.Numerics.Statistics.Statistics.Median(train.Select(r => (double)r.ResponseLength)));

    /// <inheritdoc/>
    public string ModelIdentity { get; }
    /// <inheritdoc/>
    public LengthBuckets Buckets { get; }
    /// <summary>The constant.</summary>
    public double Length { get; }

    /// <inheritdoc/>
    public ResponseLengthPrediction Predict(IReadOnlyList<int> promptIds) => ResponseLengthPrediction.PointMass(Buckets, Length);
}
