using TimeBill.Core.Eviction;
using TimeBill.Core.Exit;

namespace TimeBill.Core.Planning;

/// <summary>How the planner trades work for time.</summary>
public sealed record PlannerOptions
{
    /// <summary>
    /// Pessimism factor k of the worst-case length <c>N_W = min(k·N̂, N_max)</c> (≥ 1; default
    /// <see cref="WorstCaseResponseLength.DefaultPessimism"/> = 3, the paper's 5 being
    /// <see cref="WorstCaseResponseLength.PaperPessimism"/>). Calibrate it for a predictor with
    /// <see cref="PessimismCalibration.FromExceedance"/>.
    /// </summary>
    public double Pessimism { get; init; } = WorstCaseResponseLength.DefaultPessimism;

    /// <summary>Largest eviction ratio α the planner may choose, in (0, 1) (paper: 0.95).</summary>
    public double MaxEvictionRatio { get; init; } = 0.95;

    /// <summary>The policy that scores prompt entries when α &gt; 0 (default SnapKV, as in the paper).</summary>
    public EvictionPolicy Eviction { get; init; } = new SnapKvPolicy();

    /// <summary>Layer skipping the planner may add; <see cref="ExitPolicy.Off"/> (default) never skips layers.</summary>
    public ExitPolicy Exit { get; init; } = ExitPolicy.Off;

    /// <summary>
    /// With an exit policy on: the eviction ratio up to which the planner evicts alone. Beyond it, eviction starts to
    /// cost quality fast, so the planner turns layer skipping on and re-solves α with the cheaper step.
    /// </summary>
    public double QualitySafeEvictionRatio { get; init; } = 0.5;

    /// <summary>
    /// A fixed eviction ratio instead of the planner's (the fixed-α baselines); null (default) plans α from the
    /// budget.
    /// </summary>
    public double? FixedEvictionRatio { get; init; }

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">k &lt; 1, α_max outside (0, 1), a bad quality-safe ratio.</exception>
    public void Validate()
    {
        if (!(Pessimism >= 1) || double.IsInfinity(Pessimism))
            throw new ArgumentOutOfRangeException(nameof(Pessimism), Pessimism, "the pessimism factor k must be a finite number ≥ 1.");
        if (!(MaxEvictionRatio > 0 && MaxEvictionRatio < 1))
            throw new ArgumentOutOfRangeException(nameof(MaxEvictionRatio), MaxEvictionRatio, "α_max must lie in (0, 1).");
        if (!(QualitySafeEvictionRatio >= 0 && QualitySafeEvictionRatio <= MaxEvictionRatio))
            throw new ArgumentOutOfRangeException(nameof(QualitySafeEvictionRatio), QualitySafeEvictionRatio, "the quality-safe eviction ratio must lie in [0, α_max].");
        if (FixedEvictionRatio is double fixedRatio && !(fixedRatio >= 0 && fixedRatio < 1))
            throw new ArgumentOutOfRangeException(nameof(FixedEvictionRatio), fixedRatio, "a fixed eviction ratio must lie in [0, 1).");
        ArgumentNullException.ThrowIfNull(Eviction);
        ArgumentNullException.ThrowIfNull(Exit);
        Exit.Validate();
    }
}
