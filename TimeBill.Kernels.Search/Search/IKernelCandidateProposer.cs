using TimeBill.Kernels.Specs;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Search;

/// <summary>The state of a search when a proposer is asked for the next round.</summary>
/// <param name="Depth">0 for the first round.</param>
/// <param name="Shape">The shape being tuned.</param>
/// <param name="History">Every candidate tried so far for this kernel and shape.</param>
/// <param name="Best">The fastest accepted candidate so far, if any.</param>
public sealed record SearchRound(int Depth, KernelShape Shape, IReadOnlyList<CandidateRecord> History, CandidateRecord? Best);

/// <summary>A source of candidates for the search: built-in feature variants, compiled source, a code model.</summary>
public interface IKernelCandidateProposer
{
    /// <summary>Short name for reports.</summary>
    string Name { get; }

    /// <summary>Candidates for this round; already-tried names are skipped by the search. Empty when out of ideas.</summary>
    IEnumerable<KernelCandidate> Propose(KernelSpec spec, SearchRound round);
}
