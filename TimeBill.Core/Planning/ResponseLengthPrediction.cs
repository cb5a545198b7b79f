namespace TimeBill.Core.Planning;

/// <summary>
/// A predicted distribution of the response length over <see cref="Buckets"/>, with the point estimate its
/// predictor chose. A planner that wants a different risk level reads <see cref="Quantile"/> or
/// <see cref="Probabilities"/> directly.
/// </summary>
public sealed class ResponseLengthPrediction
{
    private readonly float[] _probabilities;

    /// <summary>Wraps bucket probabilities (normalised here) and a point estimate.</summary>
    /// <exception cref="ArgumentException">Wrong number of probabilities, negative values or zero total.</exception>
    public ResponseLengthPrediction(LengthBuckets buckets, IReadOnlyList<float> probabilities, double length)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        ArgumentNullException.ThrowIfNull(probabilities);
        if (probabilities.Count != buckets.Count)
            throw new ArgumentException($"{probabilities.Count} probabilities given for {buckets.Count} buckets.", nameof(probabilities));
        double total = 0;
        foreach (float p in probabilities)
        {
            if (!(p >= 0) || float.IsInfinity(p)) throw new ArgumentException("probabilities must be finite and ≥ 0.", nameof(probabilities));
            total += p;
        }
        if (total <= 0) throw new ArgumentException("probabilities sum to zero.", nameof(probabilities));
        _probabilities = probabilities.Select(p => (float)(p / total)).ToArray();
        Buckets = buckets;
        Length = length;
    }

    /// <summary>A distribution with all mass on the bucket of <paramref name="length"/> (regression and constant predictors).</summary>
    public static ResponseLengthPrediction PointMass(LengthBuckets buckets, double length)
    {
        var p = new float[buckets.Count];
        p[buckets.BucketOf((int)Math.Clamp(Math.Round(length), 0, buckets.MaxLength))] = 1f;
        return new ResponseLengthPrediction(buckets, p, length);
    }

    /// <summary>The buckets the probabilities refer to.</summary>
    public LengthBuckets Buckets { get; }
    /// <summary>Probability of each bucket (sums to 1).</summary>
    public IReadOnlyList<float> Probabilities => _probabilities;
    /// <summary>The predictor's point estimate N̂ in tokens.</summary>
    public double Length { get; }

    /// <summary>The most likely bucket (the first on ties).</summary>
    public int MostLikelyBucket
    {
        get
        {
            int best = 0;
            for (int i = 1; i < _probabilities.Length; i++) if (_probabilities[i] > _probabilities[best]) best = i;
            return best;
        }
    }

    /// <summary>The paper's rule: the upper edge of the most likely bucket.</summary>
    public int MostLikelyUpperEdge => Buckets.UpperEdge(MostLikelyBucket);

    /// <summary>
    /// The <paramref name="q"/>-quantile of the length, lengths spread uniformly over each bucket's
    /// [lower edge, upper edge + 1) so the cumulative distribution is piecewise linear; capped at the maximum length.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">q outside [0, 1].</exception>
    public double Quantile(double q)
    {
        if (!(q >= 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, "quantile must lie in [0, 1].");
        double cumulative = 0;
        for (int i = 0; i < _probabilities.Length; i++)
        {
            double p = _probabilities[i];
            if (p > 0 && cumulative + p >= q)
            {
                double lower = Buckets.LowerEdge(i), upper = Buckets.UpperEdge(i) + 1;
                return Math.Min(lower + (q - cumulative) / p * (upper - lower), Buckets.MaxLength);
            }
            cumulative += p;
        }
        return Buckets.MaxLength;
    }

    /// <summary>Expected length, each bucket represented by its midpoint.</summary>
    public double Mean
    {
        get
        {
            double m = 0;
            for (int i = 0; i < _probabilities.Length; i++) m += _probabilities[i] * (Buckets.LowerEdge(i) + Buckets.UpperEdge(i) + 1) / 2.0;
            return m;
        }
    }
}
