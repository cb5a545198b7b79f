using TimeBill.Kernels.Search;

namespace TimeBill.Kernels.Specs;

/// <summary>
/// Everything the search needs to know about one kernel: its task in words, a scalar implementation as source,
/// how to generate inputs, which shapes to verify (edge cases) and to time (model sizes), the tolerance, and the
/// feature space of its built-in implementations.
/// </summary>
public abstract class KernelSpec
{
    /// <summary>Stable kernel name, the key in the tuning table (e.g. <c>matvec_f32</c>).</summary>
    public abstract string Name { get; }

    /// <summary>What the kernel computes and the contract a candidate must keep, for a person or a code model.</summary>
    public abstract string Task { get; }

    /// <summary>The case class a candidate's <c>public static void Run(TCase c)</c> takes.</summary>
    public abstract Type CaseType { get; }

    /// <summary>C# source of a straightforward scalar candidate: the naive baseline and the reference shown in prompts.</summary>
    public abstract string NaiveSource { get; }

    /// <summary>Small shapes with the edge cases (one row, lengths not a multiple of any vector width, odd dims).</summary>
    public abstract IReadOnlyList<KernelShape> VerificationShapes { get; }

    /// <summary>Model-sized shapes the search times, one per shape class.</summary>
    public abstract IReadOnlyList<KernelShape> ProfileShapes { get; }

    /// <summary>The variant the runtime uses without a tuning table.</summary>
    public abstract KernelVariant DefaultVariant { get; }

    /// <summary>The tuning-table class <paramref name="shape"/> belongs to.</summary>
    public abstract string ShapeClass(KernelShape shape);

    /// <summary>A case at <paramref name="shape"/> with inputs drawn from <paramref name="seed"/>.</summary>
    public abstract KernelCase CreateCase(KernelShape shape, int seed);

    /// <summary>Allowed |output − reference| is Absolute + Relative·|reference|, per element.</summary>
    public abstract (double Absolute, double Relative) Tolerance(KernelShape shape);

    /// <summary>Every built-in variant this machine can run well (no unaccelerated widths).</summary>
    public abstract IReadOnlyList<KernelVariant> FeatureSpace();

    /// <summary>The built-in implementation at <paramref name="variant"/> as a candidate.</summary>
    public abstract KernelCandidate Build(KernelVariant variant);

    /// <summary>Vector widths this machine accelerates.</summary>
    protected static int[] AcceleratedWidths => [.. new[] { 128, 256, 512 }.Where(KernelVariant.IsWidthAccelerated)];

    /// <summary>1, and 2 when the machine has a second core.</summary>
    protected static int[] ThreadCounts => Environment.ProcessorCount > 1 ? [1, 2] : [1];
}

/// <summary>A spec whose candidates take <typeparamref name="TCase"/>.</summary>
public abstract class KernelSpec<TCase> : KernelSpec where TCase : KernelCase
{
    /// <inheritdoc />
    public override Type CaseType => typeof(TCase);

    /// <inheritdoc />
    public override KernelCandidate Build(KernelVariant variant) =>
        KernelCandidate.BuiltIn(variant, c => Run((TCase)c, variant));

    /// <summary>Runs the built-in implementation at <paramref name="variant"/> on <paramref name="c"/>.</summary>
    protected abstract void Run(TCase c, KernelVariant variant);
}
