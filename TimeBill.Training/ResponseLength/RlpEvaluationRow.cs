namespace TimeBill.Predictors.ResponseLength;

/// <summary>One line of the RLP report.</summary>
/// <param name="Name">Predictor name (file stem, or constant-mean / constant-median / oracle).</param>
/// <param name="Description">What it is and which rule gives N̂.</param>
/// <param name="Buckets">Number of buckets of its head (0 for regression, constants, oracle).</param>
/// <param name="Metrics">Scores on the test prompts (the oracle: on the re-sampled subset).</param>
/// <param name="SubsetMae">MAE on the re-sampled subset (comparable with the oracle); NaN without re-samples.</param>
/// <param name="LatencyMicroseconds">Median time of one prediction for one prompt (self-probe: the head after the shared prefill).</param>
/// <param name="Predicted">N̂ per scored prompt (for the plot).</param>
/// <param name="Actual">Actual length per scored prompt.</param>
internal sealed record RlpEvaluationRow(string Name, string Description, int Buckets, LengthMetrics Metrics, double SubsetMae, double LatencyMicroseconds,
    double[] Predicted, int[] Actual);
