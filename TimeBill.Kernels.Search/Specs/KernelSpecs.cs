namespace TimeBill.Kernels.Specs;

/// <summary>The specs of every kernel the search can tune.</summary>
public static class KernelSpecs
{
    /// <summary>All specs, in the order <c>timebill tune</c> runs them.</summary>
    public static IReadOnlyList<KernelSpec> All { get; } =
    [
        new MatVecFloat32Spec(), new MatVecBFloat16Spec(), new MatVecFloat16Spec(), new RmsNormSpec(), new RotarySpec(),
        new SwiGluSpec(), new DecodeAttentionSpec(), new TopKSpec(),
        .. QuantizedMatVecSpec.All, .. QuantizedMatMulSpec.All,
    ];

    /// <summary>The spec named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No kernel has that name.</exception>
    public static KernelSpec Find(string name) =>
        All.FirstOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"Unknown kernel '{name}'. Known: {string.Join(", ", All.Select(s => s.Name))}.", nameof(name));
}
