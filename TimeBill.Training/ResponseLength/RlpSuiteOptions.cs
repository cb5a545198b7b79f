namespace TimeBill.Predictors.ResponseLength;

/// <summary>Which predictors <see cref="RlpSuiteTrainer"/> trains and how.</summary>
internal sealed record RlpSuiteOptions
{
    /// <summary>Bucket widths B of the fine-grained classifiers.</summary>
    public IReadOnlyList<int> BucketWidths { get; init; } = [4, 8, 16];
    /// <summary>Train the small-transformer RLP.</summary>
    public bool SmallModel { get; init; } = true;
    /// <summary>Train the self-probe RLP.</summary>
    public bool SelfProbe { get; init; } = true;
    /// <summary>Train the baselines (regression, 5 and 10 coarse buckets) on the small transformer.</summary>
    public bool Baselines { get; init; } = true;
    /// <summary>Small transformer size.</summary>
    public SmallModelShape Shape { get; init; } = new();
    /// <summary>Target layer of the self-probe; null = the last layer.</summary>
    public int? ProbeLayer { get; init; }
    /// <summary>Hidden width of the self-probe MLP.</summary>
    public int ProbeWidth { get; init; } = 128;
    /// <summary>Training hyper-parameters.</summary>
    public RlpTrainingOptions Training { get; init; } = new();
}
