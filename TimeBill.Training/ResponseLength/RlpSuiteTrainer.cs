using TimeBill.Core.Model;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// Trains the RLP line-up on a distilled dataset and writes one predictor file per entry to a folder:
/// small-b{B} and probe-b{B} for each bucket width, and the baselines small-regression, small-coarse5, small-coarse10.
/// </summary>
internal static class RlpSuiteTrainer
{
    /// <summary>File extension of predictor files.</summary>
    public const string Extension = ".rlp";

    /// <summary>Trains everything <paramref name="options"/> asks for.</summary>
    /// <param name="model">The target model (identity, vocabulary, context; prefill for the self-probe's features).</param>
    /// <param name="train">Training records.</param>
    /// <param name="validation">Validation records (early stopping).</param>
    /// <param name="outputFolder">Where the files go.</param>
    /// <param name="options">What to train.</param>
    /// <param name="onStatus">Progress text and fraction of the work done.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    public static List<TrainedPredictorInfo> TrainAll(CausalLanguageModel model, IReadOnlyList<LengthRecord> train, IReadOnlyList<LengthRecord> validation,
        string outputFolder, RlpSuiteOptions options, Action<string, double>? onStatus = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(outputFolder);
        int max = model.Config.MaxPositions, vocab = model.Config.VocabSize;
        var jobs = new List<(string Name, bool Probe, LengthHeadSpec Head)>();
        foreach (int b in options.BucketWidths)
        {
            if (options.SelfProbe) jobs.Add(($"probe-b{b}", true, new LengthHeadSpec(b, max)));
            if (options.SmallModel) jobs.Add(($"small-b{b}", false, new LengthHeadSpec(b, max)));
        }
        if (options.Baselines)
        {
            jobs.Add(("small-regression", false, LengthHeadSpec.Regression(max)));
            jobs.Add(("small-coarse5", false, LengthHeadSpec.Coarse(5, max)));
            jobs.Add(("small-coarse10", false, LengthHeadSpec.Coarse(10, max)));
        }

        float[][]? trainFeatures = null, validationFeatures = null;
        int layer = options.ProbeLayer ?? model.Config.LayerCount - 1;
        if (jobs.Any(j => j.Probe))
        {
            int total = train.Count + validation.Count;
            trainFeatures = StoryFeatures.Extract(model, train, layer,
                i => onStatus?.Invoke($"self-probe features {i}/{total}", 0), cancellationToken);
            validationFeatures = StoryFeatures.Extract(model, validation, layer,
                i => onStatus?.Invoke($"self-probe features {train.Count + i}/{total}", 0), cancellationToken);
        }
        int[] trainLengths = train.Select(r => r.ResponseLength).ToArray();
        int[] validationLengths = validation.Select(r => r.ResponseLength).ToArray();

        var written = new List<TrainedPredictorInfo>();
        for (int j = 0; j < jobs.Count; j++)
        {
            var (name, probe, head) = jobs[j];
            string path = Path.Combine(outputFolder, name + Extension);
            void OnEpoch(int epoch, double loss, double mae) =>
                onStatus?.Invoke($"{name}: epoch {epoch}, loss {loss:F3}, validation MAE {mae:F1}", (j + epoch / (double)options.Training.MaxEpochs) / jobs.Count);
            onStatus?.Invoke($"{name}: training", j / (double)jobs.Count);
            RlpTrainingReport report;
            if (probe)
            {
                var (predictor, r) = LengthPredictorTrainer.TrainSelfProbe(model, layer, trainFeatures!, trainLengths, validationFeatures!, validationLengths,
                    head, options.ProbeWidth, options.Training, OnEpoch, cancellationToken);
                using (predictor) predictor.Save(path);
                report = r;
            }
            else
            {
                var (predictor, r) = LengthPredictorTrainer.TrainSmallModel(train, validation, model.Identity, vocab, max, head, options.Shape,
                    options.Training, OnEpoch, cancellationToken);
                using (predictor) predictor.Save(path);
                report = r;
            }
            written.Add(new TrainedPredictorInfo(name, path, head, report));
        }
        onStatus?.Invoke("done", 1);
        return written;
    }
}
