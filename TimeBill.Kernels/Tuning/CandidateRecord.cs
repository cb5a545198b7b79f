namespace TimeBill.Kernels.Tuning;

/// <summary>What happened to a candidate.</summary>
public enum CandidateOutcome
{
    /// <summary>Correct on every verification shape, and timed.</summary>
    Accepted,
    /// <summary>The source did not compile, or lacks the entry point.</summary>
    CompileError,
    /// <summary>An output differed from the reference beyond tolerance, or was left unwritten.</summary>
    Wrong,
    /// <summary>The candidate threw.</summary>
    Crashed,
}

/// <summary>One candidate's trial, as kept in the search history and the tuning table.</summary>
/// <param name="Kernel">Kernel name.</param>
/// <param name="ShapeClass">Tuning class of the timed shape.</param>
/// <param name="Shape">The timed shape.</param>
/// <param name="Candidate">Candidate name.</param>
/// <param name="Origin">Who proposed it.</param>
/// <param name="Round">Search depth it was proposed at (0 = first round).</param>
/// <param name="Outcome">Verification outcome.</param>
/// <param name="Feedback">Compiler message, exception, or the first mismatch; null when accepted.</param>
/// <param name="MedianSeconds">Median time per call when accepted.</param>
/// <param name="Variant">The built-in variant, if it is one.</param>
public sealed record CandidateRecord(
    string Kernel,
    string ShapeClass,
    string Shape,
    string Candidate,
    string Origin,
    int Round,
    CandidateOutcome Outcome,
    string? Feedback,
    double? MedianSeconds,
    KernelVariant? Variant);
