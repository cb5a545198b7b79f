namespace TimeBill.Kernels.Tuning;

/// <summary>The kernel names the tuning table is keyed by.</summary>
public static class KernelNames
{
    /// <summary><see cref="MatVec.Float32"/>.</summary>
    public const string MatVecFloat32 = "matvec_f32";
    /// <summary><see cref="MatVec.BFloat16"/>.</summary>
    public const string MatVecBFloat16 = "matvec_bf16";
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

    /// <summary>The variant <paramref name="kernel"/> runs when no tuning table has an entry for it.</summary>
    /// <exception cref="ArgumentException">The kernel is unknown.</exception>
    public static KernelVariant DefaultVariant(string kernel) => kernel switch
    {
        MatVecFloat32 or MatVecBFloat16 => MatVec.DefaultVariant,
        RmsNorm => TimeBill.Kernels.RmsNorm.DefaultVariant,
        Rotary => TimeBill.Kernels.Rotary.DefaultVariant,
        SwiGlu => TimeBill.Kernels.SwiGlu.DefaultVariant,
        DecodeAttention => TimeBill.Kernels.DecodeAttention.DefaultVariant,
        TopK => TimeBill.Kernels.TopK.DefaultVariant,
        _ => throw new ArgumentException($"Unknown kernel '{kernel}'. Known: {MatVecFloat32}, {MatVecBFloat16}, {RmsNorm}, {Rotary}, {SwiGlu}, {DecodeAttention}, {TopK}.", nameof(kernel)),
    };
}
