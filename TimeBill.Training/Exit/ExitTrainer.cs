using System.Diagnostics;
using TimeBill.Core.Exit;
using TimeBill.Core.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TimeBill.Predictors.Exit;

/// <summary>Hyper-parameters of exit-head and exit-predictor training.</summary>
internal sealed record ExitTrainingOptions
{
    /// <summary>Rank of each layer's residual adapter.</summary>
    public int Rank { get; init; } = 16;
    /// <summary>Adam steps of head distillation.</summary>
    public int HeadSteps { get; init; } = 1000;
    /// <summary>Tokens per minibatch.</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>Adam learning rate of the heads.</summary>
    public double HeadLearningRate { get; init; } = 3e-3;
    /// <summary>Layer whose output feeds the exit-layer predictor.</summary>
    public int PredictorLayer { get; init; }
    /// <summary>Hidden width of the predictor's perceptron.</summary>
    public int PredictorWidth { get; init; } = 32;
    /// <summary>Adam steps of predictor training.</summary>
    public int PredictorSteps { get; init; } = 400;
    /// <summary>Adam learning rate of the predictor.</summary>
    public double PredictorLearningRate { get; init; } = 3e-3;
    /// <summary>Thresholds measured for the calibration (+∞ is always added).</summary>
    public IReadOnlyList<double> CalibrationThresholds { get; init; } = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];
    /// <summary>Threshold at which the exit-layer accuracy of the predictor is reported.</summary>
    public double ReportThreshold { get; init; } = 0.6;
    /// <summary>Seed of initialisation and minibatch order.</summary>
    public int Seed { get; init; }

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive size, step count or learning rate.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Rank);
        ArgumentOutOfRangeException.ThrowIfNegative(HeadSteps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(PredictorLayer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(PredictorWidth);
        ArgumentOutOfRangeException.ThrowIfNegative(PredictorSteps);
        if (!(HeadLearningRate > 0) || !(PredictorLearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(HeadLearningRate), "learning rates must be positive.");
    }
}

/// <summary>What exit training achieved, measured on held-out tokens.</summary>
/// <param name="ExitLayers">Layers with an exit head.</param>
/// <param name="KlBefore">Per head, mean KL(full ‖ head) with the untrained (identity) adapter: the plain final head on the intermediate state.</param>
/// <param name="KlAfter">Per head, mean KL(full ‖ head) after distillation.</param>
/// <param name="Top1AgreementAfter">Per head, share of tokens whose top-1 equals the full model's.</param>
/// <param name="PredictorLoss">Held-out binary cross-entropy of the predicted head confidences.</param>
/// <param name="ConstantBaselineLoss">The same loss of a constant predictor (the training mean per head).</param>
/// <param name="PredictorExitAccuracy">Share of held-out tokens whose predicted exit layer equals the true first confident layer at <paramref name="ReportThreshold"/>.</param>
/// <param name="ConstantExitAccuracy">The same for always predicting the most frequent exit layer of the training tokens.</param>
/// <param name="ReportThreshold">Threshold of the two accuracies.</param>
/// <param name="TrainTokens">Training token positions.</param>
/// <param name="HeldOutTokens">Held-out token positions.</param>
/// <param name="Elapsed">Training time.</param>
internal sealed record ExitTrainingReport(
    IReadOnlyList<int> ExitLayers,
    IReadOnlyList<double> KlBefore,
    IReadOnlyList<double> KlAfter,
    IReadOnlyList<double> Top1AgreementAfter,
    double PredictorLoss,
    double ConstantBaselineLoss,
    double PredictorExitAccuracy,
    double ConstantExitAccuracy,
    double ReportThreshold,
    int TrainTokens,
    int HeldOutTokens,
    TimeSpan Elapsed);

/// <summary>
/// Trains exit heads by distillation (KL from the frozen full model's next-token distribution to each head's, summed
/// over heads, Adam on the adapters only), then the exit-layer predictor (binary cross-entropy against each head's
/// measured top-1 probability), then measures the calibration on held-out tokens.
/// </summary>
internal static class ExitTrainer
{
    /// <summary>Trains heads for every layer below the last, the predictor and the calibration.</summary>
    /// <exception cref="ArgumentException">Data of another model's shape, or a predictor layer without heads above it.</exception>
    public static (ExitModel Model, ExitTrainingReport Report) Train(CausalLanguageModel model, ExitDistillationSet train,
        ExitDistillationSet heldOut, ExitTrainingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(heldOut);
        options ??= new ExitTrainingOptions();
        options.Validate();
        int layers = model.Config.LayerCount, d = model.Config.HiddenSize;
        if (train.Hidden.Count != layers || heldOut.Hidden.Count != layers || train.Hidden[0].shape[1] != d)
            throw new ArgumentException("distillation data of another model shape.", nameof(train));
        if (options.PredictorLayer >= layers - 1)
            throw new ArgumentException($"predictor layer {options.PredictorLayer} leaves no exit head above it (layers 0..{layers - 2} have heads).", nameof(options));

        var clock = Stopwatch.StartNew();
        int[] exitLayers = Enumerable.Range(0, layers - 1).ToArray();
        torch.manual_seed(options.Seed);
        var adapters = exitLayers.Select(_ => new LowRankAdapter(d, options.Rank)).ToArray();
        var klBefore = MeanKl(model, adapters, exitLayers, heldOut);
        TrainHeads(model, adapters, exitLayers, train, options);
        var klAfter = MeanKl(model, adapters, exitLayers, heldOut);

        var weights = new Dictionary<int, (float[] Down, float[] Up)>();
        for (int k = 0; k < exitLayers.Length; k++)
            weights[exitLayers[k]] = (adapters[k].Down.weight!.detach().data<float>().ToArray(), adapters[k].Up.weight!.detach().data<float>().ToArray());
        foreach (var a in adapters) a.Dispose();

        // Measure the trained heads (as the runtime evaluates them) on both sets.
        var placeholder = new ExitPredictor(d, 1, [], new float[d + 1], new float[1], [], []);
        var heads = new ExitModel(model, options.Rank, weights, options.PredictorLayer, placeholder,
            new ExitCalibration(layers, [new ExitCalibrationPoint(double.PositiveInfinity, layers, 0, layers, 0, 1, 1)]));
        var trainStats = HeadStatistics.Measure(heads, train);
        var heldStats = HeadStatistics.Measure(heads, heldOut);
        heads.Dispose();

        var predicted = exitLayers.Where(l => l >= options.PredictorLayer).ToArray();
        var (predictor, loss, baseline) = TrainPredictor(train, heldOut, trainStats, heldStats, predicted, options);
        var (accuracy, constantAccuracy) = ExitAccuracy(predictor, heldOut, trainStats, heldStats, options);
        var calibration = Calibrate(layers, exitLayers, predictor, heldOut, heldStats, options);

        var result = new ExitModel(model, options.Rank, weights, options.PredictorLayer, predictor, calibration);
        var report = new ExitTrainingReport(exitLayers, klBefore, klAfter, exitLayers.Select(l => heldStats.Agreement[l].Average(b => b ? 1.0 : 0.0)).ToArray(),
            loss, baseline, accuracy, constantAccuracy, options.ReportThreshold, train.Count, heldOut.Count, clock.Elapsed);
        return (result, report);
    }

    private static void TrainHeads(CausalLanguageModel model, LowRankAdapter[] adapters, int[] exitLayers, ExitDistillationSet train, ExitTrainingOptions options)
    {
        if (options.HeadSteps == 0) return;
        var parameters = adapters.SelectMany(a => a.parameters()).ToList();
        using var optimizer = torch.optim.Adam(parameters, options.HeadLearningRate);
        var random = new Random(options.Seed);
        int batch = Math.Min(options.BatchSize, train.Count);
        for (int step = 0; step < options.HeadSteps; step++)
        {
            using var scope = NewDisposeScope();
            var index = tensor(Enumerable.Range(0, batch).Select(_ => (long)random.Next(train.Count)).ToArray());
            var target = train.TeacherLogProbs.index_select(0, index);
            var p = target.exp();
            Tensor? loss = null;
            for (int k = 0; k < exitLayers.Length; k++)
            {
                var h = train.Hidden[exitLayers[k]].index_select(0, index);
                var logQ = model.Head(adapters[k].forward(h)).log_softmax(-1);
                var kl = (p * (target - logQ)).sum(-1).mean();
                loss = loss is null ? kl : loss + kl;
            }
            optimizer.zero_grad();
            loss!.backward();
            optimizer.step();
        }
    }

    private static double[] MeanKl(CausalLanguageModel model, LowRankAdapter[] adapters, int[] exitLayers, ExitDistillationSet data)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var p = data.TeacherLogProbs.exp();
        return exitLayers.Select((layer, k) =>
        {
            var logQ = model.Head(adapters[k].forward(data.Hidden[layer])).log_softmax(-1);
            return (p * (data.TeacherLogProbs - logQ)).sum(-1).mean().item<float>() * 1.0;
        }).ToArray();
    }

    private static Tensor PredictorInputs(ExitDistillationSet data, int layer)
    {
        var h = data.Hidden[layer];
        var normed = h * (h.square().mean([-1L], keepdim: true) + 1e-5).rsqrt();
        var previous = tensor(data.PreviousConfidence.ToArray()).unsqueeze(1);
        return cat([normed, previous], 1);
    }

    private static (ExitPredictor Predictor, double Loss, double Baseline) TrainPredictor(ExitDistillationSet train, ExitDistillationSet heldOut,
        HeadStatistics trainStats, HeadStatistics heldStats, int[] predicted, ExitTrainingOptions options)
    {
        int d = (int)train.Hidden[0].shape[1], w = options.PredictorWidth;
        using var scope = NewDisposeScope();
        var x = PredictorInputs(train, options.PredictorLayer);
        var y = Targets(trainStats, predicted);
        var xHeld = PredictorInputs(heldOut, options.PredictorLayer);
        var yHeld = Targets(heldStats, predicted);

        torch.manual_seed(options.Seed + 1);
        var first = nn.Linear(d + 1, w);
        var second = nn.Linear(w, predicted.Length);
        Tensor Forward(Tensor input) => second.forward(F.relu(first.forward(input)));
        var parameters = first.parameters().Concat(second.parameters()).ToList();
        using (var optimizer = torch.optim.Adam(parameters, options.PredictorLearningRate))
        {
            var random = new Random(options.Seed + 1);
            int batch = Math.Min(options.BatchSize, train.Count);
            for (int step = 0; step < options.PredictorSteps; step++)
            {
                using var stepScope = NewDisposeScope();
                var index = tensor(Enumerable.Range(0, batch).Select(_ => (long)random.Next(train.Count)).ToArray());
                var loss = F.binary_cross_entropy_with_logits(Forward(x.index_select(0, index)), y.index_select(0, index));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
        }

        double heldLoss, baseline;
        using (no_grad())
        {
            heldLoss = F.binary_cross_entropy_with_logits(Forward(xHeld), yHeld).item<float>();
            var mean = y.mean([0L], keepdim: true).clamp(1e-4, 1 - 1e-4);
            var constant = (mean / (1 - mean)).log().expand_as(yHeld);
            baseline = F.binary_cross_entropy_with_logits(constant, yHeld).item<float>();
        }
        var predictor = new ExitPredictor(d, w, predicted,
            first.weight!.detach().data<float>().ToArray(), first.bias!.detach().data<float>().ToArray(),
            second.weight!.detach().data<float>().ToArray(), second.bias!.detach().data<float>().ToArray());
        first.Dispose();
        second.Dispose();
        return (predictor, heldLoss, baseline);
    }

    private static Tensor Targets(HeadStatistics stats, int[] predicted)
    {
        int n = stats.Confidence[0].Length;
        var values = new float[n * predicted.Length];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < predicted.Length; k++)
                values[i * predicted.Length + k] = stats.Confidence[predicted[k]][i];
        return tensor(values, [n, predicted.Length]);
    }

    /// <summary>True first confident exit layer of every token (−1: none), as classic early exit would find it.</summary>
    private static int[] FirstConfident(HeadStatistics stats, int[] exitLayers, double threshold, int fromLayer = 0)
    {
        int n = stats.Confidence[0].Length;
        var result = new int[n];
        for (int i = 0; i < n; i++)
        {
            result[i] = -1;
            foreach (int layer in exitLayers)
                if (layer >= fromLayer && stats.Confidence[layer][i] >= threshold) { result[i] = layer; break; }
        }
        return result;
    }

    private static (double Predictor, double Constant) ExitAccuracy(ExitPredictor predictor, ExitDistillationSet heldOut,
        HeadStatistics trainStats, HeadStatistics heldStats, ExitTrainingOptions options)
    {
        int[] layers = predictor.Layers.ToArray();
        var truthTrain = FirstConfident(trainStats, layers, options.ReportThreshold);
        int majority = truthTrain.GroupBy(l => l).OrderByDescending(g => g.Count()).First().Key;
        var truth = FirstConfident(heldStats, layers, options.ReportThreshold);
        var predictions = PredictAll(predictor, heldOut, options.PredictorLayer, options.ReportThreshold);
        double hit = 0, constant = 0;
        for (int i = 0; i < truth.Length; i++)
        {
            if (predictions[i] == truth[i]) hit++;
            if (majority == truth[i]) constant++;
        }
        return (hit / truth.Length, constant / truth.Length);
    }

    private static int[] PredictAll(ExitPredictor predictor, ExitDistillationSet data, int layer, double threshold)
    {
        float[] hidden = data.Hidden[layer].data<float>().ToArray();
        int d = predictor.HiddenSize;
        var result = new int[data.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = predictor.PredictExitLayer(hidden.AsSpan(i * d, d), data.PreviousConfidence[i], threshold);
        return result;
    }

    private static ExitCalibration Calibrate(int layerCount, int[] exitLayers, ExitPredictor predictor, ExitDistillationSet heldOut,
        HeadStatistics stats, ExitTrainingOptions options)
    {
        var points = new List<ExitCalibrationPoint>();
        int n = heldOut.Count;
        foreach (double tau in options.CalibrationThresholds.Append(double.PositiveInfinity).Distinct().Order())
        {
            var classic = FirstConfident(stats, exitLayers, tau);
            var predictions = PredictAll(predictor, heldOut, options.PredictorLayer, tau);
            double cl = 0, ch = 0, ca = 0, pl = 0, ph = 0, pa = 0;
            for (int i = 0; i < n; i++)
            {
                int e = classic[i];
                cl += e < 0 ? layerCount : e + 1;
                ch += e < 0 ? exitLayers.Length : Array.IndexOf(exitLayers, e) + 1;
                ca += e < 0 || stats.Agreement[e][i] ? 1 : 0;
                int q = predictions[i];
                bool exits = q >= 0 && stats.Confidence[q][i] >= tau;
                pl += exits ? q + 1 : layerCount;
                ph += q >= 0 ? 1 : 0;
                pa += !exits || stats.Agreement[q][i] ? 1 : 0;
            }
            points.Add(new ExitCalibrationPoint(tau, cl / n, ch / n, pl / n, ph / n, ca / n, pa / n));
        }
        return new ExitCalibration(layerCount, points);
    }

    /// <summary>Per exit layer and token: the head's top-1 probability and whether its top-1 equals the full model's.</summary>
    private sealed class HeadStatistics
    {
        public required Dictionary<int, float[]> Confidence { get; init; }
        public required Dictionary<int, bool[]> Agreement { get; init; }

        public static HeadStatistics Measure(ExitModel heads, ExitDistillationSet data)
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var teacherTop = data.TeacherLogProbs.argmax(-1).data<long>().ToArray();
            var confidence = new Dictionary<int, float[]>();
            var agreement = new Dictionary<int, bool[]>();
            foreach (int layer in heads.ExitLayers)
            {
                var probs = heads.ExitLogits(layer, data.Hidden[layer]).softmax(-1);
                var (values, indices) = probs.max(-1);
                confidence[layer] = values.data<float>().ToArray();
                var top = indices.data<long>().ToArray();
                agreement[layer] = top.Select((t, i) => t == teacherTop[i]).ToArray();
            }
            return new HeadStatistics { Confidence = confidence, Agreement = agreement };
        }
    }

    /// <summary>h + U·D·h with U zero at the start, so an untrained head is the model's own final head.</summary>
    private sealed class LowRankAdapter : nn.Module<Tensor, Tensor>
    {
        private readonly Linear down;
        private readonly Linear up;

        public LowRankAdapter(int hidden, int rank) : base("exit_adapter")
        {
            down = nn.Linear(hidden, rank, hasBias: false);
            up = nn.Linear(rank, hidden, hasBias: false);
            using (no_grad()) up.weight!.zero_();
            RegisterComponents();
        }

        public Linear Down => down;
        public Linear Up => up;

        public override Tensor forward(Tensor input) => input + Up.forward(Down.forward(input));
    }
}
