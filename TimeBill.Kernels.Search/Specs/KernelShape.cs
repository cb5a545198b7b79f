namespace TimeBill.Kernels.Specs;

/// <summary>One problem size of a kernel; what the dimensions mean is up to the kernel's spec.</summary>
/// <param name="Label">Readable form, e.g. <c>1536x576</c>.</param>
/// <param name="Dimensions">The sizes, in the order the spec documents.</param>
public sealed record KernelShape(string Label, IReadOnlyList<int> Dimensions)
{
    /// <summary>Dimension <paramref name="index"/>.</summary>
    public int this[int index] => Dimensions[index];

    /// <inheritdoc />
    public override string ToString() => Label;
}
