using System.Diagnostics;
using TimeBill.Core.Model;
using TimeBill.Core.Planning;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// Scores every predictor file of a folder on the test prompts next to the two reference lines: the constant
/// predictor (training mean and median) and the oracle (each re-sampled prompt's own median length, scored against
/// the dataset's independent sample of that prompt). Bucket accuracy is taken on 16-token buckets for every row.
/// </summary>
internal static class RlpEvaluator
{
    /// <summary>Bucket width of the bucket-accuracy column.</summary>
    public const int AccuracyBucketWidth = 16;

    /// <summary>Evaluates; <paramref name="resampled"/> may be empty (no oracle row).</summary>
    public static List<RlpEvaluationRow> Evaluate(CausalLanguageModel model, IReadOnlyList<string> predictorFiles, IReadOnlyList<LengthRecord> train,
        IReadOnlyList<LengthRecord> test, IReadOnlyList<ResampledPrompt> resampled, Action<string, double>? onStatus = null,
        CancellationToken cancellationToken = default)
    {
        var accuracy = new LengthBuckets(AccuracyBucketWidth, model.Config.MaxPositions);
        int[] actual = test.Select(r => r.ResponseLength).ToArray();
        var testIndex = test.Select((r, i) => (r, i)).ToDictionary(x => (x.r.Story, x.r.PromptIds.Length), x => x.i);
        var subset = resampled.Where(s => testIndex.ContainsKey((s.Story, s.Prefix))).ToList();
        int[] subsetRows = subset.Select(s => testIndex[(s.Story, s.Prefix)]).ToArray();
        var rows = new List<RlpEvaluationRow>();

        RlpEvaluationRow Row(string name, string description, int buckets, double[] predicted, double latency) =>
            new(name, description, buckets, LengthMetrics.Compute(predicted, actual, accuracy),
                subsetRows.Length == 0 ? double.NaN : subsetRows.Average(i => Math.Abs(predicted[i] - actual[i])), latency, predicted, actual);

        if (subset.Count > 0)
        {
            double[] oracle = subset.Select(s => s.Median).ToArray();
            int[] subsetActual = subsetRows.Select(i => actual[i]).ToArray();
            var metrics = LengthMetrics.Compute(oracle, subsetActual, accuracy);
            rows.Add(new RlpEvaluationRow("oracle", $"median of {subset[0].Lengths.Length} fresh samples of the same prompt ({subset.Count} prompts)",
                0, metrics, metrics.Mae, double.NaN, oracle, subsetActual));
        }
        double mean = train.Average(r => r.ResponseLength);
        double median = MathNet.Numerics.Statistics.Statistics.Median(train.Select(r => (double)r.ResponseLength));
        rows.Add(Row("constant-mean", $"training mean {mean:F1}", 0, Enumerable.Repeat(mean, test.Count).ToArray(), 0));
        rows.Add(Row("constant-median", $"training median {median:F1}", 0, Enumerable.Repeat(median, test.Count).ToArray(), 0));

        var prompts = test.Select(r => r.PromptIds).ToList();
        var features = new Dictionary<int, float[][]>();
        for (int f = 0; f < predictorFiles.Count; f++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string path = predictorFiles[f];
            string name = Path.GetFileNameWithoutExtension(path);
            onStatus?.Invoke($"eval {name}", f / (double)predictorFiles.Count);
            var predictor = LengthPredictorFile.Load(path, model);
            try
            {
                ResponseLengthPrediction[] predictions;
                double latency;
                string description;
                LengthHeadSpec head;
                switch (predictor)
                {
                    case SmallModelLengthPredictor small:
                        head = small.Head;
                        predictions = small.PredictMany(prompts);
                        latency = MedianMicroseconds(prompts.Take(50), p => small.Predict(p));
                        description = "small transformer over prompt tokens";
                        break;
                    case SelfProbeLengthPredictor probe:
                        head = probe.Head;
                        if (!features.TryGetValue(probe.ProbeLayer, out var x))
                            features[probe.ProbeLayer] = x = StoryFeatures.Extract(model, test, probe.ProbeLayer,
                                i => onStatus?.Invoke($"eval {name}: prefill features {i}/{prompts.Count}", f / (double)predictorFiles.Count), cancellationToken);
                        predictions = probe.PredictFromFeatures(x);
                        latency = MedianMicroseconds(x.Take(50), v => probe.PredictFromFeatures([v]));
                        description = $"self-probe MLP on layer {probe.ProbeLayer} hidden states";
                        break;
                    default:
                        throw new InvalidDataException($"{path}: unsupported predictor {predictor.GetType().Name}.");
                }
                string rule = head.IsRegression ? "MSE regression" : $"{head.Buckets.Count} buckets of {head.BucketWidth}, N̂ = median";
                rows.Add(Row(name, $"{description}; {rule}", head.IsRegression ? 0 : head.Buckets.Count, predictions.Select(p => p.Length).ToArray(), latency));
                if (!head.IsRegression && head.BucketWidth == 16)
                    rows.Add(Row(name + "-upper", $"{description}; {head.Buckets.Count} buckets, N̂ = upper edge of the most likely bucket (paper's rule)",
                        head.Buckets.Count, predictions.Select(p => (double)p.MostLikelyUpperEdge).ToArray(), latency));
            }
            finally { (predictor as IDisposable)?.Dispose(); }
        }
        onStatus?.Invoke("done", 1);
        return rows;
    }

    private static double MedianMicroseconds<T>(IEnumerable<T> inputs, Action<T> predict)
    {
        var times = new List<double>();
        foreach (var input in inputs)
        {
            long start = Stopwatch.GetTimestamp();
            predict(input);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }
        return times.Count == 0 ? double.NaN : MathNet.Numerics.Statistics.Statistics.Median(times);
    }
}
