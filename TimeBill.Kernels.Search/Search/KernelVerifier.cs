using System.Globalization;
using TimeBill.Kernels.Specs;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Search;

/// <summary>The verdict on one candidate; <see cref="Feedback"/> says what went wrong in words a code model can act on.</summary>
/// <param name="Outcome">Accepted, or why not.</param>
/// <param name="Feedback">Compiler message, exception, or first mismatch; null when accepted.</param>
public sealed record Verification(CandidateOutcome Outcome, string? Feedback)
{
    /// <summary>Whether the candidate may be timed.</summary>
    public bool Passed => Outcome == CandidateOutcome.Accepted;
}

/// <summary>
/// Checks a candidate against the spec's float64 reference on every verification shape, with inputs drawn from
/// a fresh seed each trial and the output poisoned before each run, so hard-coded or unwritten outputs fail.
/// </summary>
public static class KernelVerifier
{
    /// <summary>Verifies <paramref name="candidate"/>; <paramref name="seed"/> should differ on every trial.</summary>
    public static Verification Verify(KernelSpec spec, KernelCandidate candidate, int seed)
    {
        if (candidate.Run is null)
            return new(CandidateOutcome.CompileError, candidate.CompileError ?? "No implementation.");
        var shapes = spec.VerificationShapes;
        for (int s = 0; s < shapes.Count; s++)
        {
            var c = spec.CreateCase(shapes[s], unchecked(seed + 7919 * s));
            c.Poison();
            try
            {
                candidate.Run(c);
            }
            catch (Exception e)
            {
                return new(CandidateOutcome.Crashed, $"shape {shapes[s]}: {e.GetType().Name}: {e.Message}");
            }
            if (FirstMismatch(c.Result(), c.Reference(), spec.Tolerance(shapes[s])) is { } mismatch)
                return new(CandidateOutcome.Wrong, $"shape {shapes[s]}: {mismatch}");
        }
        return new(CandidateOutcome.Accepted, null);
    }

    private static string? FirstMismatch(double[] actual, double[] expected, (double Absolute, double Relative) tolerance)
    {
        if (actual.Length != expected.Length) return $"output has {actual.Length} elements, expected {expected.Length}";
        for (int i = 0; i < actual.Length; i++)
        {
            double allowed = tolerance.Absolute + tolerance.Relative * Math.Abs(expected[i]);
            if (double.IsNaN(actual[i]))
                return $"element {i} is NaN; outputs are NaN-poisoned before each run, so it was probably left unwritten";
            if (!(Math.Abs(actual[i] - expected[i]) <= allowed))
                return string.Create(CultureInfo.InvariantCulture, $"element {i} is {actual[i]:g9}, expected {expected[i]:g9} (allowed error {allowed:g3})");
        }
        return null;
    }
}
