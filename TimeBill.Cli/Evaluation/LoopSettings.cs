using TimeBill.Core.Planning;

namespace TimeBill.Cli.Evaluation;

/// <summary>Workload of the control-loop evaluation.</summary>
internal sealed record LoopSettings
{
    /// <summary>System prompt tokens (after BOS).</summary>
    public int SystemTokens { get; init; } = 1000;
    public int MinObservationTokens { get; init; } = 20;
    public int MaxObservationTokens { get; init; } = 80;
    /// <summary>Ticks per stream, i.e. jobs per cell.</summary>
    public int Jobs { get; init; } = 100;
    /// <summary>Cap on generated tokens (a random-weight shape runs every job to it: no stop token).</summary>
    public int MaxNewTokens { get; init; } = 32;
    public IReadOnlyList<LoopBudget> Budgets { get; init; } = LoopBudget.ParseList("warm-p50,warm-p90");
    /// <summary>α of the fixed-α method.</summary>
    public double FixedAlpha { get; init; } = 0.5;
    /// <summary>k of the TimeBill method.</summary>
    public double Pessimism { get; init; } = WorstCaseResponseLength.DefaultPessimism;
    public int Seed { get; init; } = 7003;
    /// <summary>Reference-pass jobs (each run cold and warm) when nothing is scored; a scored model runs every job (its answers are the score's reference).</summary>
    public int TimingReferenceJobs { get; init; } = 20;
}
