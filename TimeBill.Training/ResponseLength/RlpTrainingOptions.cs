namespace TimeBill.Predictors.ResponseLength;

/// <summary>Hyper-parameters of RLP training (shared by both predictor kinds).</summary>
internal sealed record RlpTrainingOptions
{
    /// <summary>Upper bound on passes over the training set.</summary>
    public int MaxEpochs { get; init; } = 30;
    /// <summary>Stop after this many epochs without a better validation MAE; the best epoch's weights are kept.</summary>
    public int Patience { get; init; } = 5;
    /// <summary>Examples per step.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 2e-3;
    /// <summary>Adam (decoupled) weight decay.</summary>
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>
    /// Probability mass moved from the true bucket to its two neighbours (half each; all to the one neighbour at an
    /// end): errors by one bucket cost less than far ones.
    /// </summary>
    public double NeighbourSmoothing { get; init; } = 0.2;
    /// <summary>Quantile of the predicted distribution used as N̂ (0.5 = median, which minimises expected absolute error).</summary>
    public double Quantile { get; init; } = 0.5;
    /// <summary>Seed of initialisation and batch order.</summary>
    public int Seed { get; init; } = 1;
}
