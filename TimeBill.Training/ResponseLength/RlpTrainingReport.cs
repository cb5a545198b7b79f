namespace TimeBill.Predictors.ResponseLength;

/// <summary>What a training run did.</summary>
/// <param name="Epochs">Epochs run.</param>
/// <param name="BestEpoch">1-based epoch whose weights were kept.</param>
/// <param name="BestValidationMae">Validation MAE (tokens) of the kept weights.</param>
/// <param name="Seconds">Training wall time.</param>
internal sealed record RlpTrainingReport(int Epochs, int BestEpoch, double BestValidationMae, double Seconds);
