using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Search;

/// <summary>The outcome of searching one kernel at one shape.</summary>
/// <param name="Kernel">Kernel name.</param>
/// <param name="ShapeClass">Tuning class of <paramref name="Shape"/>.</param>
/// <param name="Shape">The timed shape.</param>
/// <param name="History">Every candidate tried, in order.</param>
/// <param name="Winner">The fastest accepted built-in variant (what the runtime can use), if any.</param>
/// <param name="NaiveSeconds">Median of the naive .NET baseline.</param>
/// <param name="EagerSeconds">Median of the eager baseline, when one was supplied and has this kernel.</param>
/// <param name="StopReason">Why the search ended: depth, no gain, budget, no proposals.</param>
public sealed record KernelSearchResult(
    string Kernel,
    string ShapeClass,
    string Shape,
    IReadOnlyList<CandidateRecord> History,
    CandidateRecord? Winner,
    double? NaiveSeconds,
    double? EagerSeconds,
    string StopReason)
{
    /// <summary>Candidates whose source did not compile.</summary>
    public int CompileErrors => History.Count(r => r.Outcome == CandidateOutcome.CompileError);
    /// <summary>Candidates that computed a wrong or unwritten output, or threw.</summary>
    public int Wrong => History.Count(r => r.Outcome is CandidateOutcome.Wrong or CandidateOutcome.Crashed);
    /// <summary>Correct candidates that lost to the winner.</summary>
    public int Slower => History.Count(r => r.Outcome == CandidateOutcome.Accepted) - (Winner is null ? 0 : 1);
    /// <summary>Eager time over winner time.</summary>
    public double? SpeedupVsEager => EagerSeconds / Winner?.MedianSeconds;
    /// <summary>Naive time over winner time.</summary>
    public double? SpeedupVsNaive => NaiveSeconds / Winner?.MedianSeconds;

    /// <summary>The tuning-table entry of the winner; null without one.</summary>
    public TuningEntry? Entry => Winner is { Variant: { } variant, MedianSeconds: { } seconds }
        ? new TuningEntry(Kernel, ShapeClass, Shape, variant, seconds, NaiveSeconds, EagerSeconds)
        : null;

    /// <summary>
    /// KernelBench's fast_p: the share of results that are correct and faster than eager by more than a factor
    /// <paramref name="p"/>; results without an eager timing are left out; null when none has one.
    /// </summary>
    public static double? FastP(IEnumerable<KernelSearchResult> results, double p)
    {
        var timed = results.Where(r => r.EagerSeconds is not null).ToList();
        return timed.Count == 0 ? null : timed.Count(r => r.SpeedupVsEager > p) / (double)timed.Count;
    }
}
