namespace TimeBill.Predictors.ResponseLength;

/// <summary>The JSON header of a predictor file: what the weights are and which model they belong to.</summary>
internal sealed record LengthPredictorHeader
{
    /// <summary>"small-transformer" or "self-probe".</summary>
    public string Kind { get; init; } = "";
    /// <summary>Identity of the target model.</summary>
    public string ModelIdentity { get; init; } = "";
    /// <summary>Output head.</summary>
    public LengthHeadSpec Head { get; init; } = new(16, 512);
    /// <summary>Quantile used as N̂.</summary>
    public double Quantile { get; init; } = 0.5;
    /// <summary>Small transformer: vocabulary size of the target's tokenizer.</summary>
    public int Vocab { get; init; }
    /// <summary>Small transformer: positions embedded (the context).</summary>
    public int MaxPositions { get; init; }
    /// <summary>Width: transformer model dimension or MLP hidden width.</summary>
    public int Dim { get; init; }
    /// <summary>Small transformer: encoder blocks.</summary>
    public int Layers { get; init; }
    /// <summary>Small transformer: attention heads.</summary>
    public int Heads { get; init; }
    /// <summary>Small transformer: last prompt tokens read.</summary>
    public int Window { get; init; }
    /// <summary>Self-probe: the target layer (0-based) whose residual stream is read.</summary>
    public int ProbeLayer { get; init; }
    /// <summary>Self-probe: feature standardisation means.</summary>
    public float[] FeatureMean { get; init; } = [];
    /// <summary>Self-probe: feature standardisation deviations.</summary>
    public float[] FeatureStd { get; init; } = [];
}
