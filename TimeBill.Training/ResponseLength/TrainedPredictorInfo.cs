namespace TimeBill.Predictors.ResponseLength;

/// <summary>One predictor written by <see cref="RlpSuiteTrainer"/>.</summary>
/// <param name="Name">File stem, e.g. small-b16, probe-b8, small-regression, small-coarse5.</param>
/// <param name="Path">The predictor file.</param>
/// <param name="Head">Its output head.</param>
/// <param name="Report">How training went.</param>
internal sealed record TrainedPredictorInfo(string Name, string Path, LengthHeadSpec Head, RlpTrainingReport Report);
