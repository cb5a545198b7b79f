using System.Globalization;

namespace TimeBill.Cli.Evaluation;

/// <summary>A confidence interval [Low, High] of a mean.</summary>
internal readonly record struct ConfidenceInterval(double Low, double High)
{
    /// <summary>"[low, high]" with <paramref name="format"/> applied to both ends.</summary>
    public string Format(string format) =>
        $"[{Low.ToString(format, CultureInfo.InvariantCulture)}, {High.ToString(format, CultureInfo.InvariantCulture)}]";
}

/// <summary>
/// Percentile bootstrap of a mean: resample the values with replacement, take the mean of each resample, report the
/// central quantiles of those means. Seeded, so a report is reproducible.
/// </summary>
internal static class BootstrapInterval
{
    /// <summary>Resamples per interval.</summary>
    public const int DefaultResamples = 2000;

    /// <summary>The <paramref name="level"/> interval (0.95: the 2.5 % and 97.5 % quantiles) of the mean of <paramref name="values"/>; NaN when empty.</summary>
    public static ConfidenceInterval OfMean(IReadOnlyList<double> values, int seed, double level = 0.95, int resamples = DefaultResamples)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!(level > 0 && level < 1)) throw new ArgumentOutOfRangeException(nameof(level), level, "the confidence level must lie in (0, 1).");
        if (resamples < 1) throw new ArgumentOutOfRangeException(nameof(resamples), resamples, "at least one resample is needed.");
        if (values.Count == 0) return new ConfidenceInterval(double.NaN, double.NaN);
        var random = new Random(seed);
        var means = new double[resamples];
        for (int b = 0; b < resamples; b++)
        {
            double sum = 0;
            for (int i = 0; i < values.Count; i++) sum += values[random.Next(values.Count)];
            means[b] = sum / values.Count;
        }
        Array.Sort(means);
        double tail = (1 - level) / 2;
        return new ConfidenceInterval(BudgetEvaluationRow.Percentile(means, tail), BudgetEvaluationRow.Percentile(means, 1 - tail));
    }
}
