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
}
