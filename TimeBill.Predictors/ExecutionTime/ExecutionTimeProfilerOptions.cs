namespace TimeBill.Predictors.ExecutionTime;

/// <summary>The grids and repetitions of a profiling run. The defaults keep a 135M-parameter model under ten minutes on two cores.</summary>
public sealed record ExecutionTimeProfilerOptions
{
    /// <summary>Longest prompt to prefill; <c>null</c>: the model's context, capped at 2,048.</summary>
    public int? MaxPromptLength { get; init; }

    /// <summary>Shortest prompt to prefill (default 8).</summary>
    public int MinPromptLength { get; init; } = 8;

    /// <summary>Longest KV length to time a decode step at; <c>null</c>: twice the longest prompt, within the context.</summary>
    public int? MaxKvLength { get; init; }

    /// <summary>Number of prompt lengths on the prefill grid (default 16).</summary>
    public int PrefillGridPoints { get; init; } = 16;

    /// <summary>Number of KV lengths on the decode grid (default 12).</summary>
    public int KvGridPoints { get; init; } = 12;

    /// <summary>Number of depths ℓ on the decode grid, always including 1 and L (default 4).</summary>
    public int LayerGridPoints { get; init; } = 4;

    /// <summary>Timed repetitions of each prefill point, reduced by <see cref="Statistic"/> (default 5).</summary>
    public int PrefillRepetitions { get; init; } = 5;

    /// <summary>Timed repetitions of each decode point, reduced by <see cref="Statistic"/> (default 9).</summary>
    public int DecodeRepetitions { get; init; } = 9;

    /// <summary>How a point's repetitions become its time (default <see cref="SampleStatistic.Median"/>).</summary>
    public SampleStatistic Statistic { get; init; } = SampleStatistic.Median;

    /// <summary>Untimed warm-up rounds before measuring (default 3).</summary>
    public int WarmUpRounds { get; init; } = 3;

    /// <summary>Every n-th grid point (by length, never an end point) is held out of the fit to measure its quality (default 4).</summary>
    public int HeldOutEvery { get; init; } = 4;

    /// <summary>Seed of the random measuring order (default 20260).</summary>
    public int Seed { get; init; } = 20260;

    internal void Validate()
    {
        static void AtLeast(int value, int min, string name)
        {
            if (value < min) throw new ArgumentOutOfRangeException(name, value, $"{name} must be ≥ {min}.");
        }
        AtLeast(MinPromptLength, 1, nameof(MinPromptLength));
        if (MaxPromptLength is { } mp) AtLeast(mp, MinPromptLength, nameof(MaxPromptLength));
        if (MaxKvLength is { } mk) AtLeast(mk, 1, nameof(MaxKvLength));
        AtLeast(PrefillGridPoints, 4, nameof(PrefillGridPoints));
        AtLeast(KvGridPoints, 3, nameof(KvGridPoints));
        AtLeast(LayerGridPoints, 1, nameof(LayerGridPoints));
        AtLeast(PrefillRepetitions, 1, nameof(PrefillRepetitions));
        AtLeast(DecodeRepetitions, 1, nameof(DecodeRepetitions));
        AtLeast(WarmUpRounds, 0, nameof(WarmUpRounds));
        AtLeast(HeldOutEvery, 3, nameof(HeldOutEvery));
    }
}
