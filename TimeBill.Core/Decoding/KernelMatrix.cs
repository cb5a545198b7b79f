using TimeBill.Kernels;
using TimeBill.Kernels.Memory;
using TimeBill.Kernels.Tuning;
using static TorchSharp.torch;

namespace TimeBill.Core.Decoding;

/// <summary>
/// A weight matrix <c>[rows, cols]</c> copied once out of a TorchSharp tensor into a <see cref="WeightArena"/>, as
/// float32 or as bfloat16 bits, with the matrix-vector variant chosen for its shape. Valid while the arena lives.
/// </summary>
internal sealed unsafe class KernelMatrix
{
    private readonly float* _float32;
    private readonly ushort* _bfloat16;
    private readonly KernelVariant _variant;

    private KernelMatrix(int rows, int cols, float* float32, ushort* bfloat16, KernelVariant variant)
    {
        Rows = rows;
        Cols = cols;
        _float32 = float32;
        _bfloat16 = bfloat16;
        _variant = variant;
    }

    public int Rows { get; }
    public int Cols { get; }

    /// <summary>Arena bytes <paramref name="weight"/> takes as float32 or bfloat16.</summary>
    public static long BytesFor(Tensor weight, bool bfloat16) =>
        bfloat16 ? WeightArena.BytesFor<ushort>(weight.numel()) : WeightArena.BytesFor<float>(weight.numel());

    /// <summary>Copies <paramref name="weight"/> into <paramref name="arena"/>; <paramref name="threads"/> caps the threads a product may use.</summary>
    public static KernelMatrix From(Tensor weight, bool bfloat16, KernelTuningTable table, int threads, WeightArena arena)
    {
        int rows = (int)weight.shape[0], cols = (int)weight.shape[1];
        string shapeClass = ShapeClasses.MatVec(rows, cols, bfloat16 ? 2 : 4);
        var variant = table.Choose(bfloat16 ? KernelNames.MatVecBFloat16 : KernelNames.MatVecFloat32, shapeClass);
        // Matrices beyond the cache stream from memory: split them across the caller's threads. Cache-resident
        // ones keep the tuned thread count (splitting a few microseconds of work rarely pays).
        int chosen = shapeClass == "small" ? variant.Threads : threads;
        variant = variant with { Threads = Math.Clamp(chosen, 1, threads) };
        using var contiguous = weight.contiguous();
        var values = contiguous.data<float>();
        long count = (long)rows * cols;
        if (!bfloat16)
        {
            float* copy = arena.Take<float>(count);
            values.CopyTo(new Span<float>(copy, (int)count), 0, 0);
            return new(rows, cols, copy, null, variant);
        }
        ushort* bits = arena.Take<ushort>(count);
        var staging = GC.AllocateUninitializedArray<float>(cols);
        for (int row = 0; row < rows; row++)
        {
            values.CopyTo(staging, 0, (long)row * cols);
            BFloat16Bits.FromSingle(staging, new Span<ushort>(bits + (long)row * cols, cols));
        }
        return new(rows, cols, null, bits, variant);
    }

    /// <summary>Rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) as a matrix of their own, sharing this one's memory.</summary>
    public KernelMatrix RowRange(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Rows);
        long offset = (long)start * Cols;
        return _float32 is not null
            ? new(count, Cols, _float32 + offset, null, _variant)
            : new(count, Cols, null, _bfloat16 + offset, _variant);
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
        int count = Rows * Cols;
        if (_float32 is not null) MatVec.Float32(new ReadOnlySpan<float>(_float32, count), Rows, Cols, x, y, _variant);
        else MatVec.BFloat16(new ReadOnlySpan<ushort>(_bfloat16, count), Rows, Cols, x, y, _variant);
    }
}
