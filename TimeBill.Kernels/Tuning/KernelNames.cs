namespace TimeBill.Kernels.Tuning;

/// <summary>The kernel names the tuning table is keyed by.</summary>
internal static class KernelNames
{
    /// <summary><see cref="MatVec.Float32"/>.</summary>
    public const string MatVecFloat32 = "matvec_f32";
    /// <summary><see cref="MatVec.BFloat16"/>.</summary>
    public const string MatVecBFloat16 = "matvec_bf16";
    /// <summary><see cref="MatVec.Float16"/>.</summary>
    public const string MatVecFloat16 = "matvec_f16";
    /// <summary><see cref="TimeBill.Kernels.RmsNorm.Apply"/>.</summary>
    public const string RmsNorm = "rmsnorm";
    /// <summary><see cref="TimeBill.Kernels.Rotary.Apply"/>.</summary>
    public const string Rotary = "rotary";
    /// <summary><see cref="TimeBill.Kernels.SwiGlu.Apply"/>.</summary>
    public const string SwiGlu = "swiglu";
    /// <summary><see cref="DecodeAttention.Apply"/>.</summary>
    public const string DecodeAttention = "attention";
    /// <summary><see cref="TimeBill.Kernels.TopK.Select"/>.</summary>
    public const string TopK = "topk";

    /// <summary>
    /// <see cref="Quantized.QuantizedMatVec"/> over <paramref name="type"/> weights: <c>matvec_q4_k</c> for the int8 path,
    /// <c>matvec_q4_k_f32</c> for the dequantize-to-float path (separate names: the two differ in accuracy, not only speed).
    /// </summary>
    public static string QuantizedMatVec(Quantized.GgmlType type, bool floatPath) =>
        $"matvec_{Quantized.GgmlTypeInfo.Of(type).Name.ToLowerInvariant()}{(floatPath ? "_f32" : "")}";

    /// <summary>Every quantized matrix-vector kernel name, int8 path then float path per format.</summary>
    public static IReadOnlyList<string> QuantizedMatVecNames { get; } =
    [
        .. from type in Quantized.QuantizedMatVec.Formats
           from floatPath in new[] { false, true }
           select QuantizedMatVec(type, floatPath),
    ];

    /// <summary><see cref="Quantized.QuantizedMatMul"/> (the prefill product) over <paramref name="type"/> weights: <c>matmul_q4_k</c>.</summary>
    public static string QuantizedMatMul(Quantized.GgmlType type) => $"matmul_{Quantized.GgmlTypeInfo.Of(type).Name.ToLowerInvariant()}";

    /// <summary>Every quantized matrix-product kernel name, one per format.</summary>
    public static IReadOnlyList<string> QuantizedMatMulNames { get; } =
    [
        .. from type in Quantized.QuantizedMatVec.Formats
           select QuantizedMatMul(type),
    ];

    /// <summary>The variant <paramref name="kernel"/> runs when no tuning table has an entry for it.</summary>
    /// <exception cref="ArgumentException">The kernel is unknown.</exception>
    public static KernelVariant DefaultVariant(string kernel) => kernel switch
    {
        MatVecFloat32 or MatVecBFloat16 or MatVecFloat16 => MatVec.DefaultVariant,
        RmsNorm => TimeBill.Kernels.RmsNorm.DefaultVariant,
        Rotary => TimeBill.Kernels.Rotary.DefaultVariant,
        SwiGlu => TimeBill.Kernels.SwiGlu.DefaultVariant,
        DecodeAttention => TimeBill.Kernels.DecodeAttention.DefaultVariant,
        TopK => TimeBill.Kernels.TopK.DefaultVariant,
        _ when QuantizedMatVecNames.Contains(kernel) => kernel.EndsWith("_f32", StringComparison.Ordinal)
            ? new KernelVariant(KernelVariant.DequantizedFloat, KernelVariant.WidestAcceleratedWidth)
            : Quantized.QuantizedMatVec.DefaultVariant,
        _ when QuantizedMatMulNames.Contains(kernel) => Quantized.QuantizedMatMul.DefaultVariant,
        _ => throw new ArgumentException($"Unknown kernel '{kernel}'. Known: {MatVecFloat32}, {MatVecBFloat16}, {MatVecFloat16}, {RmsNorm}, {Rotary}, {SwiGlu}, {DecodeAttention}, {TopK}, {string.Join(", ", QuantizedMatVecNames)}, {string.Join(", ", QuantizedMatMulNames)}.", nameof(kernel)),
    };
}
