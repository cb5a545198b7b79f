using System.CommandLine;
using TimeBill.Predictors.ResponseLength;

namespace TimeBill.Cli.Commands;

/// <summary>Options and loading shared by train-rlp and eval-rlp.</summary>
internal static class RlpDataOptions
{
    public static Option<string> Dataset() => new("--dataset") { Description = "Dataset file written by distill.", DefaultValueFactory = _ => "results/rlp/dataset.jsonl" };

    public static Option<string> Predictors() => new("--predictors") { Description = "Folder of predictor files (*.rlp).", DefaultValueFactory = _ => "results/rlp/predictors" };

    public static Option<int> MaxStories() => new("--max-stories") { Description = "Use only the first N stories (0 = all; small runs for CI).", DefaultValueFactory = _ => 0 };

    /// <summary>Records of the dataset, split by story.</summary>
    public static (DistillationSettings Settings, List<LengthRecord> Train, List<LengthRecord> Validation, List<LengthRecord> Test) Load(string path, int maxStories)
    {
        var (settings, stories) = DistillationDatasetFile.Read(path);
        if (maxStories > 0) stories = stories.Take(maxStories).ToList();
        var records = stories.SelectMany(s => s.Records()).ToList();
        var splitter = new StorySplitter();
        var result = (settings, splitter.Select(records, DatasetSplit.Train).ToList(), splitter.Select(records, DatasetSplit.Validation).ToList(),
            splitter.Select(records, DatasetSplit.Test).ToList());
        if (result.Item2.Count == 0 || result.Item3.Count == 0 || result.Item4.Count == 0)
            throw new ArgumentException($"{path}: {records.Count} prompts from {stories.Count} stories leave a split empty; distill more stories.");
        return result;
    }
}
