using TimeBill.Kernels;
using TimeBill.Kernels.Tuning;
using static TorchSharp.torch;

namespace TimeBill.Core.Decoding;

/// <summary>
/// A weight matrix <c>[rows, cols]</c> copied once out of a TorchSharp tensor into pinned managed memory, as
/// float32 or as bfloat16 bits, with the matrix-vector variant chosen for its shape.
/// </summary>
internal sealed class KernelMatrix
{
    private readonly float[]? _float32;
    private readonly ushort[]? _bfloat16;
    private readonly KernelVariant _variant;

    private KernelMatrix(int rows, int cols, float[]? float32, ushort[]? bfloat16, KernelVariant variant)
    {
        Rows = rows;
        Cols = cols;
        _float32 = float32;
        _bfloat16 = bfloat16;
        _variant = variant;
    }

    public int Rows { get; }
    public int Cols { get; }

    /// <summary>Copies <paramref name="weight"/>; <paramref name="threads"/> caps the threads a product may use.</summary>
    public static KernelMatrix From(Tensor weight, bool bfloat16, KernelTuningTable table, int threads)
    {
        int rows = (int)weight.shape[0], cols = (int)weight.shape[1];
        float[] values = CopyOf(weight);
        string shapeClass = ShapeClasses.MatVec(rows, cols, bfloat16 ? 2 : 4);
        var variant = table.Choose(bfloat16 ? KernelNames.MatVecBFloat16 : KernelNames.MatVecFloat32, shapeClass);
        // Matrices beyond the cache stream from memory: split them across the caller's threads. Cache-resident
        // ones keep the tuned thread count (splitting a few microseconds of work rarely pays).
        int chosen = shapeClass == "small" ? variant.Threads : threads;
        variant = variant with { Threads = Math.Clamp(chosen, 1, threads) };
        if (!bfloat16) return new(rows, cols, values, null, variant);
        var bits = GC.AllocateUninitializedArray<ushort>(values.Length, pinned: true);
        BFloat16Bits.FromSingle(values, bits);
        return new(rows, cols, null, bits, variant);
    }

    /// <summary>A contiguous float32 copy of a tensor in pinned memory.</summary>
    public static float[] CopyOf(Tensor tensor)
    {
        using var contiguous = tensor.contiguous();
        var copy = GC.AllocateUninitializedArray<float>((int)contiguous.numel(), pinned: true);
        contiguous.data<float>().CopyTo(copy);
        return copy;
    }

    /// <summary>y = W x.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        if (_float32 is not null) MatVec.Float32(_float32, Rows, Cols, x, y, _variant);
        else MatVec.BFloat16(_bfloat16!, Rows, Cols, x, y, _variant);
    }
}
