using TimeBill.Kernels.Specs;

namespace TimeBill.Kernels.Search;

/// <summary>
/// One implementation proposed for a kernel: a built-in feature variant, or source compiled at run time.
/// A candidate whose source did not compile has no <see cref="Run"/> and carries the compiler's message.
/// </summary>
/// <param name="Name">Unique within a search (the variant's name, or the source's file name).</param>
/// <param name="Origin">Who proposed it: <c>features</c>, <c>source</c>, <c>naive</c>.</param>
/// <param name="Run">Runs the implementation on a case; null when compilation failed.</param>
/// <param name="Variant">The built-in variant, which the runtime can use from a tuning table; null for source.</param>
/// <param name="Source">C# source, for compiled candidates.</param>
/// <param name="CompileError">The compiler's errors, when compilation failed.</param>
public sealed record KernelCandidate(
    string Name,
    string Origin,
    Action<KernelCase>? Run,
    KernelVariant? Variant = null,
    string? Source = null,
    string? CompileError = null)
{
    /// <summary>Origin of built-in feature variants.</summary>
    public const string FeaturesOrigin = "features";

    /// <summary>A built-in implementation at <paramref name="variant"/>.</summary>
    public static KernelCandidate BuiltIn(KernelVariant variant, Action<KernelCase> run) => new(variant.ToString(), FeaturesOrigin, run, variant);
}
