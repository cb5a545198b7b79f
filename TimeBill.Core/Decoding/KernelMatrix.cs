using TimeBill.Core.Model;
using TimeBill.Kernels;
using TimeBill.Kernels.Memory;
using TimeBill.Kernels.Quantized;
using TimeBill.Kernels.Tuning;
using static TorchSharp.torch;

namespace TimeBill.Core.Decoding;

/// <summary>
/// A weight matrix <c>[rows, cols]</c> for the decode kernels: a float32 matrix copied once into a
/// <see cref="WeightArena"/> (as float32 or bfloat16 bits), or a stored matrix multiplied in place, segment by segment
/// (quantized blocks, float16, bfloat16 or float32 rows), with the matrix-vector variant chosen for its shape. Valid while the
/// arena and the weights live.
/// </summary>
internal sealed unsafe class KernelMatrix
{
    // Stored matrices above this many bytes stream from memory: their rows are split across the caller's threads.
    private const long ThreadedBytes = 256 * 1024;
    private readonly float* _float32;
    private readonly ushort* _bfloat16;
    private readonly KernelVariant _variant;
    private readonly WeightSegment[] _segments;
    private readonly KernelVariant[] _segmentVariants;
    private readonly byte[] _activation;
    private readonly float[]? _permuted;

    private KernelMatrix(int rows, int cols, float* float32, ushort* bfloat16, KernelVariant variant)
    {
        Rows = rows;
        Cols = cols;
        _float32 = float32;
        _bfloat16 = bfloat16;
        _variant = variant;
        _segments = [];
        _segmentVariants = [];
        _activation = [];
    }

    private KernelMatrix(WeightSegment[] segments, KernelVariant[] variants)
    {
        _segments = segments;
        _segmentVariants = variants;
        Rows = segments.Sum(s => s.Rows);
        Cols = segments[0].Cols;
        _activation = new byte[segments.Where(s => QuantizedMatVec.IsSupported(s.Type)).Select(s => QuantizedMatVec.ActivationBytes(s.Type, s.Cols)).DefaultIfEmpty(0).Max()];
        int permutedRows = segments.Where(s => s.PermutedHeads > 0).Select(s => s.Rows).DefaultIfEmpty(0).Max();
        _permuted = permutedRows > 0 ? new float[permutedRows] : null;
    }

    public int Rows { get; }
    public int Cols { get; }

    /// <summary>Arena bytes <paramref name="weight"/> takes: float32 or bfloat16 for a float32 matrix, none for a stored one.</summary>
    public static long BytesFor(WeightMatrix weight, bool bfloat16) => weight.Float32 is null ? 0
        : bfloat16 ? WeightArena.BytesFor<ushort>((long)weight.Rows * weight.Cols) : WeightArena.BytesFor<float>((long)weight.Rows * weight.Cols);

    /// <summary>
    /// <paramref name="weight"/> for the kernels: a float32 matrix is copied into <paramref name="arena"/>, a stored one
    /// used in place; <paramref name="threads"/> caps the threads a product may use.
    /// </summary>
    public static KernelMatrix From(WeightMatrix weight, bool bfloat16, KernelTuningTable table, int threads, WeightArena arena)
    {
        if (weight.Float32 is null)
        {
            var segments = weight.Segments.ToArray();
            var variants = segments.Select(s => Variant(s, table, threads)).ToArray();
            return new KernelMatrix(segments, variants);
        }
        int rows = weight.Rows, cols = weight.Cols;
        string shapeClass = ShapeClasses.MatVec(rows, cols, bfloat16 ? 2 : 4);
        var variant = table.Choose(bfloat16 ? KernelNames.MatVecBFloat16 : KernelNames.MatVecFloat32, shapeClass);
        // Matrices beyond the cache stream from memory: split them across the caller's threads. Cache-resident
        // ones keep the tuned thread count (splitting a few microseconds of work rarely pays).
        int chosen = shapeClass == "small" ? variant.Threads : threads;
        variant = variant with { Threads = Math.Clamp(chosen, 1, threads) };
        using var contiguous = weight.Float32.contiguous();
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

    private static KernelVariant Variant(WeightSegment segment, KernelTuningTable table, int threads)
    {
        int n = (long)segment.Rows * segment.RowBytes > ThreadedBytes ? threads : 1;
        return segment.Type switch
        {
            GgmlType.F32 => table.Choose(KernelNames.MatVecFloat32, ShapeClasses.MatVec(segment.Rows, segment.Cols, 4)) with { Threads = n },
            GgmlType.BF16 => table.Choose(KernelNames.MatVecBFloat16, ShapeClasses.MatVec(segment.Rows, segment.Cols, 2)) with { Threads = n },
            GgmlType.F16 => table.Choose(KernelNames.MatVecFloat16, ShapeClasses.MatVec(segment.Rows, segment.Cols, 2)) with { Threads = n },
            _ => QuantizedMatVec.DefaultVariant with { Threads = n },
        };
    }

    /// <summary>Rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) as a matrix of their own, sharing this one's memory.</summary>
    /// <exception cref="ArgumentException">On a stored matrix, a range that does not start and end on segment boundaries.</exception>
    public KernelMatrix RowRange(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Rows);
        if (_segments.Length > 0)
        {
            int first = 0, offset = 0;
            while (first < _segments.Length && offset < start) offset += _segments[first++].Rows;
            int last = first, end = offset;
            while (last < _segments.Length && end < start + count) end += _segments[last++].Rows;
            if (offset != start || end != start + count)
                throw new ArgumentException($"rows [{start}, {start + count}) do not fall on the stored segments' boundaries.", nameof(start));
            return new KernelMatrix(_segments[first..last], _segmentVariants[first..last]);
        }
        long elementOffset = (long)start * Cols;
        return _float32 is not null
            ? new(count, Cols, _float32 + elementOffset, null, _variant)
            : new(count, Cols, null, _bfloat16 + elementOffset, _variant);
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
        if (_segments.Length == 0)
        {
            int count = Rows * Cols;
            if (_float32 is not null) MatVec.Float32(new ReadOnlySpan<float>(_float32, count), Rows, Cols, x, y, _variant);
            else MatVec.BFloat16(new ReadOnlySpan<ushort>(_bfloat16, count), Rows, Cols, x, y, _variant);
            return;
        }
        int row = 0;
        for (int i = 0; i < _segments.Length; i++)
        {
            var segment = _segments[i];
            var target = y.Slice(row, segment.Rows);
            var output = segment.PermutedHeads > 0 ? _permuted.AsSpan(0, segment.Rows) : target;
            switch (segment.Type)
            {
                case GgmlType.F32:
                    MatVec.Float32(new ReadOnlySpan<float>(segment.Data, segment.Rows * segment.Cols), segment.Rows, segment.Cols, x, output, _segmentVariants[i]);
                    break;
                case GgmlType.BF16:
                    MatVec.BFloat16(new ReadOnlySpan<ushort>(segment.Data, segment.Rows * segment.Cols), segment.Rows, segment.Cols, x, output, _segmentVariants[i]);
                    break;
                case GgmlType.F16:
                    MatVec.Float16(new ReadOnlySpan<ushort>(segment.Data, segment.Rows * segment.Cols), segment.Rows, segment.Cols, x, output, _segmentVariants[i]);
                    break;
                default:
                    QuantizedMatVec.Multiply(segment.Type, segment.Bytes, segment.Rows, segment.Cols, x, output, _activation, _segmentVariants[i]);
                    break;
            }
            if (segment.PermutedHeads > 0)
                for (int r = 0; r < segment.Rows; r++) target[r] = output[segment.StoredRow(r)];
            row += segment.Rows;
        }
    }
}
