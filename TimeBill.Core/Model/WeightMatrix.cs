using System.Runtime.InteropServices;
using TimeBill.Kernels.Quantized;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TimeBill.Core.Model;

/// <summary>
/// A weight matrix <c>[rows, cols]</c>: a float32 TorchSharp tensor, or rows kept as stored (GGUF blocks) that are
/// dequantized a slice at a time when libtorch needs them (prefill) and multiplied in place by the decode kernels.
/// </summary>
internal sealed class WeightMatrix : IDisposable
{
    // Largest slice dequantized at once for a product on libtorch: scratch that a prefill holds beside its activations.
    private const long SliceBytes = 1L << 20;
    private readonly WeightSegment[] _segments;

    internal WeightMatrix(Tensor float32)
    {
        Float32 = float32;
        Rows = checked((int)float32.shape[0]);
        Cols = checked((int)float32.shape[1]);
        _segments = [];
    }

    internal WeightMatrix(IReadOnlyList<WeightSegment> segments)
    {
        if (segments.Count == 0 || segments.Any(s => s.Cols != segments[0].Cols)) throw new ArgumentException("segments must share their column count.", nameof(segments));
        _segments = [.. segments];
        Rows = segments.Sum(s => s.Rows);
        Cols = segments[0].Cols;
    }

    /// <summary>Rows.</summary>
    public int Rows { get; }
    /// <summary>Columns.</summary>
    public int Cols { get; }
    /// <summary>The float32 tensor when the matrix is held as one, else null.</summary>
    public Tensor? Float32 { get; }
    /// <summary>The stored row ranges when the matrix is held as stored (empty when <see cref="Float32"/>).</summary>
    internal IReadOnlyList<WeightSegment> Segments => _segments;

    /// <summary>Bytes the matrix takes in memory.</summary>
    public long Bytes => Float32 is not null ? 4L * Rows * Cols : _segments.Sum(s => (long)s.Rows * s.RowBytes);

    /// <summary>How it is held: "f32", or the stored types (e.g. "q4_K+q6_K").</summary>
    public string Format => Float32 is not null ? "f32" : string.Join('+', _segments.Select(s => GgmlTypeInfo.Of(s.Type).Name).Distinct());

    /// <summary>
    /// y = x Wᵀ (+ bias) for x <c>[T, cols]</c>. Stored rows in a block format are multiplied as blocks where the machine
    /// can (<see cref="QuantizedMatMul"/>); others are dequantized a slice at a time for libtorch.
    /// </summary>
    public Tensor Linear(Tensor x, Tensor? bias = null)
    {
        if (Float32 is not null) return F.linear(x, Float32, bias);
        using var scope = NewDisposeScope();
        int tokens = checked((int)x.shape[0]);
        var y = empty(tokens, Rows);
        Tensor? contiguous = null;
        Tensor? scratch = null;
        int offset = 0;
        foreach (var segment in _segments)
        {
            if (QuantizedMatMul.IsSupported(segment.Type))
            {
                contiguous ??= x.contiguous();
                QuantizedMatMul.Multiply(segment.Type, segment.Bytes, segment.Rows, Cols, MemoryMarshal.Cast<byte, float>(contiguous.bytes), tokens,
                    MemoryMarshal.Cast<byte, float>(y.bytes)[offset..], Rows, QuantizedMatMul.DefaultVariant with { Threads = get_num_threads() }, segment.RowOrder());
            }
            else
            {
                int slice = (int)Math.Clamp(SliceBytes / (4L * Cols), 1, Rows);
                scratch ??= empty(slice, Cols);
                for (int start = 0; start < segment.Rows; start += slice)
                {
                    int count = Math.Min(slice, segment.Rows - start);
                    var w = scratch.narrow(0, 0, count);
                    DequantizeInto(offset + start, count, w);
                    y.narrow(1, offset + start, count).copy_(F.linear(x, w));
                }
            }
            offset += segment.Rows;
        }
        if (bias is not null) y.add_(bias);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>Rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) as a float32 tensor the caller owns.</summary>
    public Tensor Dequantize(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Rows);
        if (Float32 is not null) return Float32.narrow(0, start, count).clone();
        var result = empty(count, Cols);
        DequantizeInto(start, count, result);
        return result;
    }

    // Writes the rows straight into the memory of a contiguous float32 tensor [count, cols].
    private void DequantizeInto(int start, int count, Tensor destination)
    {
        var values = MemoryMarshal.Cast<byte, float>(destination.bytes);
        for (int row = 0; row < count; row++) DequantizeRow(start + row, values.Slice(row * Cols, Cols));
    }

    /// <summary>Row <paramref name="row"/> as float32 into <paramref name="destination"/> [cols].</summary>
    public void DequantizeRow(int row, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Rows);
        if (destination.Length != Cols) throw new ArgumentException($"the row has {Cols} columns; the destination holds {destination.Length}.", nameof(destination));
        if (Float32 is not null)
        {
            using var r = Float32[row].contiguous();
            r.data<float>().CopyTo(destination);
            return;
        }
        foreach (var segment in _segments)
        {
            if (row < segment.Rows)
            {
                segment.Dequantize(row, destination);
                return;
            }
            row -= segment.Rows;
        }
    }

    /// <summary>The rows of <paramref name="ids"/> (an embedding lookup): <c>[ids.Length, cols]</c>.</summary>
    public Tensor SelectRows(ReadOnlySpan<int> ids)
    {
        if (Float32 is not null)
        {
            using var index = tensor(ids.ToArray(), dtype: ScalarType.Int64);
            return Float32.index_select(0, index);
        }
        var result = empty(ids.Length, Cols);
        var values = MemoryMarshal.Cast<byte, float>(result.bytes);
        for (int i = 0; i < ids.Length; i++) DequantizeRow(ids[i], values.Slice(i * Cols, Cols));
        return result;
    }

    /// <summary>Frees the float32 tensor; stored rows belong to the weights' owner.</summary>
    public void Dispose() => Float32?.Dispose();
}
