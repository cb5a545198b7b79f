namespace TimeBill.Core.Exit;

/// <summary>How the exit layer of a decoded token is found.</summary>
public enum ExitStrategy
{
    /// <summary>
    /// Predictive exit: a cheap predictor reads an early hidden state and names the one exit head to evaluate;
    /// the layers before it run, the head is evaluated once, and the layers above are skipped when it is confident.
    /// </summary>
    Predictive,
    /// <summary>Classic early exit: every exit head is evaluated in order and the first confident one exits.</summary>
    Classic,
}

/// <summary>What predictive exit does when the predicted head turns out not confident enough.</summary>
public enum ExitFallback
{
    /// <summary>Run the remaining layers and use the model's own head; no further exit head is evaluated (default).</summary>
    FullDepth,
    /// <summary>Keep evaluating the following exit heads in order (classic early exit from the predicted layer on).</summary>
    NextHead,
}

/// <summary>
/// The exit policy of a generation: off (every token runs the full depth, the default, and costs nothing), a
/// confidence threshold τ on the exit head's top-1 probability, or a target average depth that the exit model's
/// calibration turns into a threshold. The prompt's prefill always runs the full depth.
/// </summary>
public sealed record ExitPolicy
{
    /// <summary>No exit: plain full-depth decoding.</summary>
    public static ExitPolicy Off { get; } = new();

    /// <summary>Exit threshold τ on the exit head's top-1 probability; <see cref="double.PositiveInfinity"/> never exits.</summary>
    public double? Threshold { get; init; }

    /// <summary>Target average layers per decoded token; resolved to a threshold through the calibration data.</summary>
    public double? TargetAverageLayers { get; init; }

    /// <summary>Predictive (default) or classic early exit.</summary>
    public ExitStrategy Strategy { get; init; } = ExitStrategy.Predictive;

    /// <summary>The rule when a predicted head is not confident (predictive exit only).</summary>
    public ExitFallback Fallback { get; init; } = ExitFallback.FullDepth;

    /// <summary>Whether this policy leaves decoding unchanged.</summary>
    public bool IsOff => Threshold is null && TargetAverageLayers is null;

    /// <summary>Exit at the first head whose top-1 probability reaches <paramref name="threshold"/>.</summary>
    public static ExitPolicy AtThreshold(double threshold, ExitStrategy strategy = ExitStrategy.Predictive) =>
        new() { Threshold = threshold, Strategy = strategy };

    /// <summary>Exit with the threshold whose calibrated average depth is at most <paramref name="layers"/>.</summary>
    public static ExitPolicy ForAverageLayers(double layers, ExitStrategy strategy = ExitStrategy.Predictive) =>
        new() { TargetAverageLayers = layers, Strategy = strategy };

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">Both a threshold and a target depth, a NaN or negative threshold, or a target depth below 1.</exception>
    public void Validate()
    {
        if (Threshold is not null && TargetAverageLayers is not null)
            throw new ArgumentException("give either an exit threshold or a target average depth, not both.");
        if (Threshold is double t && (double.IsNaN(t) || t < 0))
            throw new ArgumentOutOfRangeException(nameof(Threshold), t, "the exit threshold must be ≥ 0 (+∞ never exits).");
        if (TargetAverageLayers is double d && (!double.IsFinite(d) || d < 1))
            throw new ArgumentOutOfRangeException(nameof(TargetAverageLayers), d, "the target average depth must be a finite number of layers ≥ 1.");
    }
}
