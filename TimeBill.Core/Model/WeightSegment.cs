using TimeBill.Kernels.Quantized;

namespace TimeBill.Core.Model;

/// <summary>
/// Rows of a weight matrix kept as stored (quantized blocks, float16, bfloat16 or float32 bits) in memory the model holds — a
/// mapped GGUF file or a native buffer. With <see cref="PermutedHeads"/> the rows are in llama.cpp's interleaved order
/// (stored row <c>h·d + 2i + j</c> is row <c>h·d + j·d/2 + i</c>), undone on the products' outputs.
/// </summary>
internal readonly unsafe struct WeightSegment(nint data, int rows, int cols, GgmlType type, int permutedHeads = 0)
{
    /// <summary>The first stored byte.</summary>
    public byte* Data { get; } = (byte*)data;
    /// <summary>Logical rows.</summary>
    public int Rows { get; } = rows;
    /// <summary>Columns.</summary>
    public int Cols { get; } = cols;
    /// <summary>The stored type.</summary>
    public GgmlType Type { get; } = type;
    /// <summary>Heads whose rows are interleaved (0: rows in order).</summary>
    public int PermutedHeads { get; } = permutedHeads;

    /// <summary>Bytes of one stored row.</summary>
    public int RowBytes => GgmlTypeInfo.Of(Type).RowBytes(Cols);

    /// <summary>All stored bytes.</summary>
    public ReadOnlySpan<byte> Bytes => new(Data, checked(Rows * RowBytes));

    /// <summary>The stored row holding logical row <paramref name="row"/>.</summary>
    public int StoredRow(int row)
    {
        if (PermutedHeads == 0) return row;
        int d = Rows / PermutedHeads, half = d / 2, head = row / d, within = row % d;
        return head * d + 2 * (within % half) + within / half;
    }

    /// <summary>The stored row of every logical row, or empty when they are in order.</summary>
    public int[] RowOrder() => PermutedHeads == 0 ? [] : [.. Enumerable.Range(0, Rows).Select(StoredRow)];

    /// <summary>Logical row <paramref name="row"/> as float32.</summary>
    public void Dequantize(int row, Span<float> destination) =>
        GgmlQuantization.DequantizeRows(Type, Bytes, Cols, StoredRow(row), 1, destination);

    /// <summary>Whether the decode kernels multiply this type in place.</summary>
    public static bool HasKernel(GgmlType type) => type is GgmlType.F32 or GgmlType.BF16 or GgmlType.F16 || QuantizedMatVec.IsSupported(type);
}
