using System.Diagnostics;
using TimeBill.Core.Planning;
using TorchSharp;
using static TorchSharp.torch;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// The training loop both RLP kinds share: AdamW on mini-batches, cross-entropy against neighbour-smoothed bucket
/// targets (or MSE on length / max length for the regression head), validation MAE of the point prediction after
/// every epoch, early stopping with the best epoch's weights restored.
/// </summary>
internal static class RlpTrainer
{
    /// <summary>Trains <paramref name="module"/>; <paramref name="forward"/> maps (split, example indices) to outputs.</summary>
    /// <param name="module">The network (its parameters are optimised; train/eval mode is switched here).</param>
    /// <param name="forward">Outputs for examples of the training (true) or validation (false) set.</param>
    /// <param name="trainLengths">Training labels.</param>
    /// <param name="validationLengths">Validation labels.</param>
    /// <param name="spec">The head.</param>
    /// <param name="options">Hyper-parameters.</param>
    /// <param name="onEpoch">Called with (epoch, training loss, validation MAE).</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public static RlpTrainingReport Train(nn.Module module, Func<bool, long[], Tensor> forward, int[] trainLengths, int[] validationLengths,
        LengthHeadSpec spec, RlpTrainingOptions options, Action<int, double, double>? onEpoch = null, CancellationToken cancellationToken = default)
    {
        if (trainLengths.Length == 0 || validationLengths.Length == 0) throw new ArgumentException("training and validation sets must not be empty.");
        var clock = Stopwatch.StartNew();
        var random = new Random(options.Seed);
        using var targets = Targets(trainLengths, spec, options.NeighbourSmoothing);
        var optimizer = optim.AdamW(module.parameters(), lr: options.LearningRate, weight_decay: options.WeightDecay);
        Dictionary<string, Tensor>? best = null;
        double bestMae = double.PositiveInfinity;
        int bestEpoch = 0, epoch = 0;
        var order = Enumerable.Range(0, trainLengths.Length).Select(i => (long)i).ToArray();
        for (epoch = 1; epoch <= options.MaxEpochs; epoch++)
        {
            module.train();
            random.Shuffle(order);
            double lossSum = 0;
            int batches = 0;
            for (int start = 0; start < order.Length; start += options.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var batch = order[start..Math.Min(order.Length, start + options.BatchSize)];
                using var index = tensor(batch);
                var output = forward(true, batch);
                var target = targets.index_select(0, index);
                var loss = spec.IsRegression
                    ? (output.squeeze(-1) - target).square().mean()
                    : -(target * output.log_softmax(-1)).sum(-1).mean();
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>();
                batches++;
            }
            double mae = ValidationMae(module, forward, validationLengths, spec, options.Quantile);
            onEpoch?.Invoke(epoch, lossSum / Math.Max(1, batches), mae);
            if (mae < bestMae - 1e-9)
            {
                bestMae = mae;
                bestEpoch = epoch;
                if (best is not null) foreach (var t in best.Values) t.Dispose();
                best = module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            }
            else if (epoch - bestEpoch >= options.Patience) break;
        }
        if (best is not null)
        {
            module.load_state_dict(best);
            foreach (var t in best.Values) t.Dispose();
        }
        module.eval();
        return new RlpTrainingReport(Math.Min(epoch, options.MaxEpochs), bestEpoch, bestMae, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Training targets: for buckets, rows of a soft one-hot (1 − ε on the true bucket, ε/2 on each neighbour, all ε on
    /// the only neighbour at an end); for regression, length / max length.
    /// </summary>
    public static Tensor Targets(int[] lengths, LengthHeadSpec spec, double smoothing)
    {
        if (spec.IsRegression) return tensor(lengths.Select(l => (float)l / spec.MaxLength).ToArray());
        var buckets = spec.Buckets;
        int c = buckets.Count;
        var t = new float[lengths.Length * c];
        for (int i = 0; i < lengths.Length; i++)
        {
            int b = buckets.BucketOf(Math.Min(lengths[i], spec.MaxLength));
            float[] row = NeighbourSmoothed(b, c, smoothing);
            Array.Copy(row, 0, t, i * c, c);
        }
        return tensor(t, [lengths.Length, c]);
    }

    /// <summary>One soft target row (see <see cref="Targets"/>).</summary>
    public static float[] NeighbourSmoothed(int bucket, int count, double smoothing)
    {
        var row = new float[count];
        if (count == 1) { row[0] = 1; return row; }
        row[bucket] = (float)(1 - smoothing);
        bool hasLeft = bucket > 0, hasRight = bucket < count - 1;
        double share = hasLeft && hasRight ? smoothing / 2 : smoothing;
        if (hasLeft) row[bucket - 1] += (float)share;
        if (hasRight) row[bucket + 1] += (float)share;
        return row;
    }

    private static double ValidationMae(nn.Module module, Func<bool, long[], Tensor> forward, int[] lengths, LengthHeadSpec spec, double quantile)
    {
        module.eval();
        using var noGrad = no_grad();
        double total = 0;
        for (int start = 0; start < lengths.Length; start += 256)
        {
            using var scope = NewDisposeScope();
            var batch = Enumerable.Range(start, Math.Min(256, lengths.Length - start)).Select(i => (long)i).ToArray();
            var predictions = LengthHeadOutputs.ToPredictions(forward(false, batch), spec, quantile);
            for (int i = 0; i < batch.Length; i++) total += Math.Abs(predictions[i].Length - lengths[batch[i]]);
        }
        return total / lengths.Length;
    }
}
