using TimeBill.Core.Model;
using TimeBill.Predictors.ResponseLength;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.ResponseLength;

/// <summary>
/// The CI-sized pipeline: distil a few short stories, train both predictor kinds for two epochs, save, load, predict;
/// plus the identity check on load. The full run on stories260K is the CLI's job, not a test's.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class RlpEndToEndTests(ModelFixture models) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rlp-e2e-").FullName;

    [Fact]
    public void TinyPipelineTrainsSavesLoadsAndPredicts()
    {
        var model = models.Get("stories260K");
        var settings = new DistillationSettings { ModelIdentity = model.Identity, Seed = 5, MaxTotalTokens = 48, MinPrefix = 2, MaxPrefix = 30, PrefixesPerStory = 4 };
        string dataset = Path.Combine(_folder, "d.jsonl");
        using (var f = DistillationDatasetFile.OpenForAppend(dataset, settings))
            new DistillationBuilder(() => CausalLanguageModel.Load(SharedAssets.Model("stories260K"))).Build(f, 40);
        var stories = DistillationDatasetFile.Read(dataset).Stories;
        var records = stories.SelectMany(s => s.Records()).ToList();
        Assert.True(records.Count >= 40);
        Assert.All(records, r => Assert.InRange(r.ResponseLength, 0, 48 - r.PromptIds.Length));
        // Fixed split by story for a deterministic tiny fixture.
        var train = records.Where(r => r.Story < 7).ToList();
        var validation = records.Where(r => r.Story is 7 or 8).ToList();
        var test = records.Where(r => r.Story >= 9).ToList();

        var options = new RlpSuiteOptions
        {
            BucketWidths = [8],
            Shape = new SmallModelShape(Dim: 16, Layers: 1, Heads: 2, Window: 16),
            ProbeWidth = 16,
            Training = new RlpTrainingOptions { MaxEpochs = 2, BatchSize = 16 },
        };
        var trained = RlpSuiteTrainer.TrainAll(model, train, validation, Path.Combine(_folder, "p"), options);
        Assert.Equal(["probe-b8", "small-b8", "small-regression", "small-coarse5", "small-coarse10"], trained.Select(t => t.Name));
        Assert.Equal(64, trained[0].Head.Buckets.Count); // B = 8 up to the model's 512-token context

        foreach (var t in trained)
        {
            var predictor = LengthPredictorFile.Load(t.Path, model);
            try
            {
                Assert.Equal(model.Identity, predictor.ModelIdentity);
                var prediction = predictor.Predict(test[0].PromptIds);
                Assert.Equal(predictor.Buckets.Count, prediction.Probabilities.Count);
                Assert.Equal(1.0, prediction.Probabilities.Sum(p => (double)p), 4);
                Assert.InRange(prediction.Length, 0, 512);
            }
            finally { (predictor as IDisposable)?.Dispose(); }
        }

        // The same weights give the same prediction after a round trip, and the self-probe's observer path agrees with Predict.
        using var probe = (SelfProbeLengthPredictor)LengthPredictorFile.Load(trained[0].Path, model);
        var observer = probe.CreateProbe();
        using (var cache = model.CreateCache())
        using (model.Forward(test[0].PromptIds, cache, observer: observer)) { }
        Assert.Equal(probe.Predict(test[0].PromptIds).Length, probe.PredictFromProbe(observer, test[0].PromptIds.Length).Length, 3);

        var rows = RlpEvaluator.Evaluate(model, trained.Select(t => t.Path).ToList(), train, test, []);
        Assert.Contains(rows, r => r.Name == "constant-mean");
        Assert.Contains(rows, r => r.Name == "probe-b8");
        Assert.All(rows, r => Assert.Equal(test.Count, r.Metrics.Count));
    }

    [Fact]
    public void LoadingForAnotherModelFailsWithBothIdentities()
    {
        var model = models.Get("stories260K");
        using var other = CausalLanguageModel.CreateRandom(model.Config, seed: 1);
        var records = Enumerable.Range(0, 20).Select(i => new LengthRecord(i, [1, 10 + i, 20 + i], 50 + 5 * i, false)).ToList();
        var (predictor, _) = LengthPredictorTrainer.TrainSmallModel(records[..14], records[14..], model.Identity, model.Config.VocabSize, model.Config.MaxPositions,
            new LengthHeadSpec(16, 512), new SmallModelShape(16, 1, 2, 8), new RlpTrainingOptions { MaxEpochs = 1 });
        string path = Path.Combine(_folder, "s.rlp");
        using (predictor) predictor.Save(path);
        var e = Assert.Throws<ModelIdentityMismatchException>(() => LengthPredictorFile.Load(path, other));
        Assert.Contains(model.Identity, e.Message);
        Assert.Contains(other.Identity, e.Message);
        Assert.Equal("small-transformer", LengthPredictorFile.ReadHeader(path).Kind);
        File.WriteAllText(Path.Combine(_folder, "junk.rlp"), "not a predictor");
        Assert.Throws<InvalidDataException>(() => LengthPredictorFile.Load(Path.Combine(_folder, "junk.rlp"), model));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
