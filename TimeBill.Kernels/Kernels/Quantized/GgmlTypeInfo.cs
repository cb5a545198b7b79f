namespace TimeBill.Kernels.Quantized;

/// <summary>
/// What ggml's type-traits table says about one <see cref="GgmlType"/>: elements per block, bytes per block, the
/// name ggml prints, and whether this library can quantize, dequantize and multiply it.
/// </summary>
/// <param name="Type">The type.</param>
/// <param name="Name">ggml's name (<c>ggml_type_name</c>), e.g. <c>q4_K</c>.</param>
/// <param name="BlockSize">Elements per block (1 for element types).</param>
/// <param name="BlockBytes">Bytes per block.</param>
/// <param name="IsSupported">Whether <see cref="GgmlQuantization"/> handles the type.</param>
internal sealed record GgmlTypeInfo(GgmlType Type, string Name, int BlockSize, int BlockBytes, bool IsSupported)
{
    private static readonly Dictionary<GgmlType, GgmlTypeInfo> Table = new GgmlTypeInfo[]
    {
        new(GgmlType.F32, "f32", 1, 4, true),
        new(GgmlType.F16, "f16", 1, 2, true),
        new(GgmlType.Q4_0, "q4_0", 32, 18, true),
        new(GgmlType.Q4_1, "q4_1", 32, 20, false),
        new(GgmlType.Q5_0, "q5_0", 32, 22, false),
        new(GgmlType.Q5_1, "q5_1", 32, 24, false),
        new(GgmlType.Q8_0, "q8_0", 32, 34, true),
        new(GgmlType.Q8_1, "q8_1", 32, 36, false),
        new(GgmlType.Q2_K, "q2_K", 256, 84, false),
        new(GgmlType.Q3_K, "q3_K", 256, 110, false),
        new(GgmlType.Q4_K, "q4_K", 256, 144, true),
        new(GgmlType.Q5_K, "q5_K", 256, 176, true),
        new(GgmlType.Q6_K, "q6_K", 256, 210, true),
        new(GgmlType.Q8_K, "q8_K", 256, 292, true),
        new(GgmlType.IQ2_XXS, "iq2_xxs", 256, 66, false),
        new(GgmlType.IQ2_XS, "iq2_xs", 256, 74, false),
        new(GgmlType.IQ3_XXS, "iq3_xxs", 256, 98, false),
        new(GgmlType.IQ1_S, "iq1_s", 256, 50, false),
        new(GgmlType.IQ4_NL, "iq4_nl", 32, 18, false),
        new(GgmlType.IQ3_S, "iq3_s", 256, 110, false),
        new(GgmlType.IQ2_S, "iq2_s", 256, 82, false),
        new(GgmlType.IQ4_XS, "iq4_xs", 256, 136, false),
        new(GgmlType.I8, "i8", 1, 1, false),
        new(GgmlType.I16, "i16", 1, 2, false),
        new(GgmlType.I32, "i32", 1, 4, false),
        new(GgmlType.I64, "i64", 1, 8, false),
        new(GgmlType.F64, "f64", 1, 8, false),
        new(GgmlType.IQ1_M, "iq1_m", 256, 56, false),
        new(GgmlType.BF16, "bf16", 1, 2, true),
        new(GgmlType.TQ1_0, "tq1_0", 256, 54, false),
        new(GgmlType.TQ2_0, "tq2_0", 256, 66, false),
        new(GgmlType.MXFP4, "mxfp4", 32, 17, false),
        new(GgmlType.NVFP4, "nvfp4", 64, 36, false),
        new(GgmlType.Q1_0, "q1_0", 128, 18, false),
    }.ToDictionary(info => info.Type);

    /// <summary>The traits of <paramref name="type"/>.</summary>
    /// <exception cref="ArgumentException">The id is not a known ggml type.</exception>
    public static GgmlTypeInfo Of(GgmlType type) =>
        Table.TryGetValue(type, out var info) ? info : throw new ArgumentException($"Unknown ggml type id {(int)type}.", nameof(type));

    /// <summary>Whether a row of <paramref name="cols"/> elements is a whole number of blocks.</summary>
    public bool IsWholeBlocks(long cols) => cols >= 0 && cols % BlockSize == 0;

    /// <summary>Blocks in a row of <paramref name="cols"/> elements.</summary>
    /// <exception cref="ArgumentException"><paramref name="cols"/> is negative or not a multiple of <see cref="BlockSize"/>.</exception>
    public int Blocks(int cols)
    {
        if (!IsWholeBlocks(cols))
            throw new ArgumentException($"A {Name} row holds whole blocks of {BlockSize} elements; {cols} is not a non-negative multiple of {BlockSize}.", nameof(cols));
        return cols / BlockSize;
    }

    /// <summary>Bytes of a row of <paramref name="cols"/> elements (ggml_row_size).</summary>
    /// <exception cref="ArgumentException"><paramref name="cols"/> is negative or not a multiple of <see cref="BlockSize"/>.</exception>
    /// <exception cref="OverflowException">The size does not fit in an <see cref="int"/>.</exception>
    public int RowBytes(int cols) => checked(Blocks(cols) * BlockBytes);

    /// <summary>Bytes of <paramref name="rows"/> rows of <paramref name="cols"/> elements.</summary>
    /// <exception cref="ArgumentException"><paramref name="cols"/> is not a whole number of blocks, or <paramref name="rows"/> is negative.</exception>
    /// <exception cref="OverflowException">The size does not fit in a <see cref="long"/>.</exception>
    public long MatrixBytes(long rows, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        return checked(rows * RowBytes(cols));
    }
}
