using System.Diagnostics;
using TimeBill.Kernels.Specs;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Search;

/// <summary>
/// The FSR loop for one kernel at one shape: ask the proposers for a round of candidates, verify each on fresh
/// inputs, time the correct ones, keep the best, and ask for the next round around it; stop at
/// <see cref="MaxDepth"/> rounds, when a round gains less than <see cref="MinGain"/>, or when the budget runs out.
/// </summary>
/// <param name="proposers">Candidate sources, asked in order every round.</param>
/// <param name="profiler">Times candidates and baselines.</param>
/// <param name="eager">The eager baseline to report against, if the host has one.</param>
public sealed class KernelSearch(IReadOnlyList<IKernelCandidateProposer> proposers, KernelProfiler profiler, IBaselineKernelTimer? eager = null)
{
    /// <summary>Most rounds.</summary>
    public int MaxDepth { get; init; } = 4;
    /// <summary>Relative improvement a round must bring for the search to go on.</summary>
    public double MinGain { get; init; } = 0.02;

    /// <summary>Reports each finished trial.</summary>
    public event Action<CandidateRecord>? Tried;

    /// <summary>
    /// Searches <paramref name="spec"/> at <paramref name="shape"/> within <paramref name="budget"/> (baselines included;
    /// the first candidate runs even when the baselines used it all up, so every search has a result).
    /// </summary>
    public KernelSearchResult Run(KernelSpec spec, KernelShape shape, TimeSpan budget, CancellationToken cancellationToken = default)
    {
        long start = Stopwatch.GetTimestamp();
        bool OverBudget() => Stopwatch.GetElapsedTime(start) > budget || cancellationToken.IsCancellationRequested;
        string shapeClass = spec.ShapeClass(shape);
        var rotation = profiler.CreateRotation(spec, shape, Random.Shared.Next());
        double? naive = new NaiveBaseline().MedianSeconds(spec, rotation, profiler);
        double? eagerSeconds = eager?.MedianSeconds(spec, rotation, profiler);

        var history = new List<CandidateRecord>();
        CandidateRecord? best = null, winner = null;
        string stop = "depth";
        for (int depth = 0; depth < MaxDepth && stop == "depth"; depth++)
        {
            var round = new SearchRound(depth, shape, history, best);
            var tried = history.Select(r => r.Candidate).ToHashSet();
            var candidates = proposers.SelectMany(p => p.Propose(spec, round)).Where(c => tried.Add(c.Name)).ToList();
            if (candidates.Count == 0) { stop = "no proposals"; break; }
            double? before = best?.MedianSeconds;
            foreach (var candidate in candidates)
            {
                if (OverBudget() && history.Count > 0) { stop = "budget"; break; } // the first candidate always runs
                var verdict = KernelVerifier.Verify(spec, candidate, Random.Shared.Next());
                double? seconds = verdict.Passed ? profiler.MedianSeconds(rotation.Length, i => candidate.Run!(rotation[i])) : null;
                var record = new CandidateRecord(spec.Name, shapeClass, shape.Label, candidate.Name, candidate.Origin, depth,
                    verdict.Outcome, verdict.Feedback, seconds, candidate.Variant);
                history.Add(record);
                Tried?.Invoke(record);
                if (seconds < (best?.MedianSeconds ?? double.MaxValue)) best = record;
                if (record.Variant is not null && seconds < (winner?.MedianSeconds ?? double.MaxValue)) winner = record;
            }
            if (stop == "depth" && before is not null && best!.MedianSeconds > before * (1 - MinGain)) stop = "no gain";
        }
        return new KernelSearchResult(spec.Name, shapeClass, shape.Label, history, winner, naive, eagerSeconds, stop);
    }
}
