using System.Runtime.Intrinsics;

namespace TimeBill.Kernels;

/// <summary>
/// One point of a kernel's feature space: the knobs the built-in implementations are parameterised by and the
/// search tunes. A kernel ignores the knobs that mean nothing to it.
/// </summary>
/// <param name="Algorithm">Implementation family: <c>lanes</c> (explicit SIMD at <paramref name="VectorWidth"/>),
/// <c>tensor-primitives</c> (System.Numerics.Tensors picks the width), <c>online-softmax</c>, <c>sort</c>, <c>quickselect</c>,
/// <c>int8-dot</c>, <c>dequant-f32</c>.</param>
/// <param name="VectorWidth">SIMD register width in bits: 128, 256 or 512.</param>
/// <param name="RowsPerIteration">Matrix rows computed together, sharing each load of the input vector: 1, 2 or 4.</param>
/// <param name="Unroll">Independent accumulators per row (breaks the multiply-add dependency chain): 1 or 2.</param>
/// <param name="Threads">Threads the work is split across (rows, heads): 1 or 2.</param>
/// <param name="BlockSize">Keys scored per block before the softmax rescale (attention); 1 is pure streaming.</param>
/// <param name="SpreadRows">Whether an iteration's <paramref name="RowsPerIteration"/> rows come from that many separate
/// stretches of a thread's rows instead of one after the other: as many weight streams read at once (on the 2-core
/// development VM, four streams per thread decoded the 135M shape 15 % faster in float32 and 35 % in bfloat16 than
/// one), where consecutive rows are a single stream.</param>
/// <param name="PrefetchDistance">Bytes ahead of the current column at which each weight row is prefetched in software,
/// once per cache line (matrix-vector products); 0 leaves it to the hardware prefetchers.</param>
public readonly record struct KernelVariant(
    string Algorithm = KernelVariant.Lanes,
    int VectorWidth = 256,
    int RowsPerIteration = 1,
    int Unroll = 1,
    int Threads = 1,
    int BlockSize = 1,
    bool SpreadRows = false,
    int PrefetchDistance = 0)
{
    /// <summary>Explicit SIMD at <see cref="VectorWidth"/>.</summary>
    public const string Lanes = "lanes";
    /// <summary>System.Numerics.Tensors.TensorPrimitives, which picks the widest accelerated width itself.</summary>
    public const string TensorPrimitives = "tensor-primitives";
    /// <summary>Streaming softmax over the keys, rescaling the running output when the maximum grows.</summary>
    public const string OnlineSoftmax = "online-softmax";
    /// <summary>Top-k by a full stable sort of each head's scores.</summary>
    public const string Sort = "sort";
    /// <summary>Top-k by selecting the k-th key with quickselect, then sorting only the survivors.</summary>
    public const string QuickSelect = "quickselect";
    /// <summary>Quantized weights against x quantized to int8 blocks (llama.cpp's way), integer dot products per block.</summary>
    public const string Int8Dot = "int8-dot";
    /// <summary>Quantized weights decoded to float32 block by block against the float32 x.</summary>
    public const string DequantizedFloat = "dequant-f32";

    /// <summary>The widest vector width this machine accelerates (512, 256 or 128).</summary>
    public static int WidestAcceleratedWidth =>
        Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;

    /// <summary>Whether this machine accelerates <paramref name="bits"/>-wide vectors.</summary>
    public static bool IsWidthAccelerated(int bits) => bits switch
    {
        128 => Vector128.IsHardwareAccelerated,
        256 => Vector256.IsHardwareAccelerated,
        512 => Vector512.IsHardwareAccelerated,
        _ => false,
    };

    /// <summary>
    /// Short readable name, e.g. <c>lanes w256 r4 spread u2 t2 p512</c>; rows, unroll, threads and block are left out
    /// when 1, <c>spread</c> when an iteration's rows are consecutive, the prefetch distance when 0.
    /// </summary>
    public override string ToString() =>
        $"{Algorithm} w{VectorWidth}{Knob('r', RowsPerIteration)}{(SpreadRows ? " spread" : "")}{Knob('u', Unroll)}{Knob('t', Threads)}{Knob('b', BlockSize)}{(PrefetchDistance > 0 ? $" p{PrefetchDistance}" : "")}";

    private static string Knob(char name, int value) => value == 1 ? "" : $" {name}{value}";
}
