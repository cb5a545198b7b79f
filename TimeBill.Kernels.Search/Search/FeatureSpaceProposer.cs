using TimeBill.Kernels.Specs;

namespace TimeBill.Kernels.Search;

/// <summary>
/// Walks a kernel's built-in feature space: the first round is the default variant and its neighbours, every
/// later round the untried neighbours of the best so far (variants that differ from it in one feature, or in two
/// once all one-feature neighbours have been tried).
/// </summary>
public sealed class FeatureSpaceProposer : IKernelCandidateProposer
{
    /// <inheritdoc />
    public string Name => KernelCandidate.FeaturesOrigin;

    /// <inheritdoc />
    public IEnumerable<KernelCandidate> Propose(KernelSpec spec, SearchRound round)
    {
        var space = spec.FeatureSpace();
        var centre = round.Depth == 0 ? spec.DefaultVariant : round.Best?.Variant;
        if (centre is not { } from) return [];
        if (round.Depth == 0)
            return space.Where(v => Distance(v, from) == 1).Prepend(space.Contains(from) ? from : space[0]).Select(spec.Build);
        var tried = round.History.Select(r => r.Candidate).ToHashSet();
        var untried = space.Where(v => !tried.Contains(v.ToString())).ToList();
        var near = untried.Where(v => Distance(v, from) == 1).ToList();
        return (near.Count > 0 ? near : untried.Where(v => Distance(v, from) == 2)).Select(spec.Build);
    }

    /// <summary>How many features two variants differ in.</summary>
    public static int Distance(KernelVariant a, KernelVariant b) =>
        (a.Algorithm != b.Algorithm ? 1 : 0) + (a.VectorWidth != b.VectorWidth ? 1 : 0) + (a.RowsPerIteration != b.RowsPerIteration ? 1 : 0)
        + (a.Unroll != b.Unroll ? 1 : 0) + (a.Threads != b.Threads ? 1 : 0) + (a.BlockSize != b.BlockSize ? 1 : 0)
        + (a.SpreadRows != b.SpreadRows ? 1 : 0) + (a.PrefetchDistance != b.PrefetchDistance ? 1 : 0);
}
