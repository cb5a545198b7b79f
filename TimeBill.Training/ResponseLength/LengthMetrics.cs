using TimeBill.Core.Planning;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// Accuracy of length predictions: MAE, RMSE, R² (1 − SS_res / SS_tot around the actual mean), bucket accuracy (the
/// prediction, rounded, falls in the actual length's bucket) and, for each pessimism factor k, the share of prompts
/// whose actual length exceeds k·N̂ (how often the planner's worst case min(k·N̂, N_max) is too small).
/// </summary>
/// <param name="Count">Prompts scored.</param>
/// <param name="Mae">Mean absolute error, tokens.</param>
/// <param name="Rmse">Root mean squared error, tokens.</param>
/// <param name="R2">Coefficient of determination.</param>
/// <param name="BucketAccuracy">Share with the predicted bucket equal to the actual one.</param>
/// <param name="Exceedance">(k, share of actual &gt; k·N̂) pairs.</param>
internal sealed record LengthMetrics(int Count, double Mae, double Rmse, double R2, double BucketAccuracy, IReadOnlyList<(double K, double Share)> Exceedance)
{
    /// <summary>The pessimism factors reported by default.</summary>
    public static readonly double[] DefaultKs = [1, 1.5, 2, 3, 5];

    /// <summary>Scores <paramref name="predicted"/> against <paramref name="actual"/>.</summary>
    /// <exception cref="ArgumentException">Different counts or no values.</exception>
    public static LengthMetrics Compute(IReadOnlyList<double> predicted, IReadOnlyList<int> actual, LengthBuckets buckets, IReadOnlyList<double>? ks = null)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(buckets);
        if (predicted.Count != actual.Count) throw new ArgumentException($"{predicted.Count} predictions for {actual.Count} actual lengths.");
        if (actual.Count == 0) throw new ArgumentException("nothing to score.");
        ks ??= DefaultKs;
        int n = actual.Count;
        double mean = actual.Average();
        double abs = 0, sq = 0, tot = 0;
        int hits = 0;
        for (int i = 0; i < n; i++)
        {
            double e = predicted[i] - actual[i];
            abs += Math.Abs(e);
            sq += e * e;
            tot += (actual[i] - mean) * (actual[i] - mean);
            int predictedLength = (int)Math.Clamp(Math.Round(predicted[i]), 0, buckets.MaxLength);
            if (buckets.BucketOf(predictedLength) == buckets.BucketOf(Math.Min(actual[i], buckets.MaxLength))) hits++;
        }
        var exceedance = ks.Select(k => (k, Enumerable.Range(0, n).Count(i => actual[i] > k * predicted[i]) / (double)n)).ToList();
        return new LengthMetrics(n, abs / n, Math.Sqrt(sq / n), tot > 0 ? 1 - sq / tot : double.NaN, hits / (double)n, exceedance);
    }
}
