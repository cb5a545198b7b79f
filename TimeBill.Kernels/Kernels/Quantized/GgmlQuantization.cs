using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels.Quantized;

/// <summary>
/// float32 rows to and from ggml's on-disk block formats (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, Q8_K), byte
/// for byte as llama.cpp's ggml lays them out: little-endian, blocks packed with no padding.
/// </summary>
internal static class GgmlQuantization
{
    /// <summary>Encodes <paramref name="source"/> (a whole number of blocks) into <paramref name="destination"/>, ggml's reference quantizer way.</summary>
    /// <exception cref="ArgumentException">The type is unsupported, the length is not whole blocks, or the destination's size is not exactly the row's bytes.</exception>
    public static void Quantize(GgmlType type, ReadOnlySpan<float> source, Span<byte> destination)
    {
        var info = Supported(type);
        int bytes = info.RowBytes(source.Length);
        if (destination.Length != bytes)
            throw new ArgumentException($"{source.Length} elements of {info.Name} take {bytes} bytes; the destination holds {destination.Length}.", nameof(destination));
        switch (type)
        {
            case GgmlType.F32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                return;
            case GgmlType.F16:
                for (int i = 0; i < source.Length; i++) HalfBits.Write(destination[(2 * i)..], source[i]);
                return;
            case GgmlType.BF16:
                for (int i = 0; i < source.Length; i++)
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(destination[(2 * i)..], BFloat16Bits.FromSingle(source[i]));
                return;
        }
        BlockCodec encode = type switch
        {
            GgmlType.Q8_0 => BlockQuantizers.Q8_0,
            GgmlType.Q4_0 => BlockQuantizers.Q4_0,
            GgmlType.Q4_K => BlockQuantizers.Q4_K,
            GgmlType.Q5_K => BlockQuantizers.Q5_K,
            GgmlType.Q6_K => BlockQuantizers.Q6_K,
            _ => BlockQuantizers.Q8_K,
        };
        for (int b = 0; b < source.Length / info.BlockSize; b++)
            encode(source.Slice(b * info.BlockSize, info.BlockSize), destination.Slice(b * info.BlockBytes, info.BlockBytes));
    }

    /// <summary>Decodes the blocks in <paramref name="source"/> into <paramref name="destination"/> (its length is the element count).</summary>
    /// <exception cref="ArgumentException">The type is unsupported, the length is not whole blocks, or the source's size is not exactly the row's bytes.</exception>
    public static void Dequantize(GgmlType type, ReadOnlySpan<byte> source, Span<float> destination)
    {
        var info = Supported(type);
        int bytes = info.RowBytes(destination.Length);
        if (source.Length != bytes)
            throw new ArgumentException($"{destination.Length} elements of {info.Name} take {bytes} bytes; the source holds {source.Length}.", nameof(source));
        DecodeBlocks(type, info, source, destination);
    }

    /// <summary>
    /// Decodes rows [<paramref name="startRow"/>, <paramref name="startRow"/> + <paramref name="rowCount"/>) of a row-major
    /// matrix of <paramref name="cols"/> columns into <paramref name="destination"/> (rowCount·cols floats), e.g. one
    /// layer's weights into prefill scratch.
    /// </summary>
    /// <exception cref="ArgumentException">The type is unsupported, cols is not whole blocks, the rows lie outside the matrix, or the destination's length is not rowCount·cols.</exception>
    public static void DequantizeRows(GgmlType type, ReadOnlySpan<byte> matrix, int cols, int startRow, int rowCount, Span<float> destination)
    {
        var info = Supported(type);
        ArgumentOutOfRangeException.ThrowIfNegative(startRow);
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        long rowBytes = info.RowBytes(cols);
        if (rowBytes > 0 && matrix.Length % rowBytes != 0)
            throw new ArgumentException($"The matrix holds {matrix.Length} bytes, not a whole number of {rowBytes}-byte {info.Name} rows of {cols} columns.", nameof(matrix));
        if ((startRow + (long)rowCount) * rowBytes > matrix.Length)
            throw new ArgumentException($"Rows [{startRow}, {startRow + (long)rowCount}) lie outside the matrix's {(rowBytes == 0 ? 0 : matrix.Length / rowBytes)} rows.", nameof(rowCount));
        if (destination.Length != (long)rowCount * cols)
            throw new ArgumentException($"The destination holds {destination.Length} floats; {rowCount} rows of {cols} need {(long)rowCount * cols}.", nameof(destination));
        for (int r = 0; r < rowCount; r++)
            DecodeBlocks(type, info, matrix.Slice((int)((startRow + r) * rowBytes), (int)rowBytes), destination.Slice(r * cols, cols));
    }

    private delegate void BlockCodec(ReadOnlySpan<float> values, Span<byte> block);

    private static void DecodeBlocks(GgmlType type, GgmlTypeInfo info, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (type)
        {
            case GgmlType.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                return;
            case GgmlType.F16:
                HalfBits.ToSingle(source, destination);
                return;
            case GgmlType.BF16:
                WidenBFloat16(MemoryMarshal.Cast<byte, ushort>(source), destination);
                return;
        }
        switch (type)
        {
            case GgmlType.Q8_0: Decode<Q8_0Format>(source, destination); return;
            case GgmlType.Q4_0: Decode<Q4_0Format>(source, destination); return;
            case GgmlType.Q4_K: Decode<Q4_KFormat>(source, destination); return;
            case GgmlType.Q5_K: Decode<Q5_KFormat>(source, destination); return;
            case GgmlType.Q6_K: Decode<Q6_KFormat>(source, destination); return;
        }
        for (int b = 0; b < destination.Length / info.BlockSize; b++)
            BlockDequantizers.Q8_K(source.Slice(b * info.BlockBytes, info.BlockBytes), destination.Slice(b * info.BlockSize, info.BlockSize));
    }

    /// <summary>bfloat16 bits into the upper halves of float32s, 32 at a time where Vector512 is accelerated (16 with Vector256).</summary>
    private static void WidenBFloat16(ReadOnlySpan<ushort> bits, Span<float> destination)
    {
        var widened = MemoryMarshal.Cast<float, uint>(destination);
        ref ushort h = ref MemoryMarshal.GetReference(bits);
        ref uint f = ref MemoryMarshal.GetReference(widened);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 32 <= bits.Length; i += 32)
            {
                var v = Vector512.LoadUnsafe(ref h, (nuint)i);
                (Vector512.WidenLower(v) << 16).StoreUnsafe(ref f, (nuint)i);
                (Vector512.WidenUpper(v) << 16).StoreUnsafe(ref f, (nuint)i + 16);
            }
        if (Vector256.IsHardwareAccelerated)
            for (; i + 16 <= bits.Length; i += 16)
            {
                var v = Vector256.LoadUnsafe(ref h, (nuint)i);
                (Vector256.WidenLower(v) << 16).StoreUnsafe(ref f, (nuint)i);
                (Vector256.WidenUpper(v) << 16).StoreUnsafe(ref f, (nuint)i + 8);
            }
        for (; i < bits.Length; i++) widened[i] = (uint)bits[i] << 16;
    }

    /// <summary>The matrix-vector product's vectorized block decoder (the lengths were checked by the caller).</summary>
    private static unsafe void Decode<TF>(ReadOnlySpan<byte> source, Span<float> destination) where TF : IQuantFormat
    {
        fixed (byte* s = source)
        fixed (float* d = destination)
            for (int b = 0; b < destination.Length / TF.BlockSize; b++)
                TF.Decode(s + (nint)b * TF.BlockBytes, d + (nint)b * TF.BlockSize);
    }

    private static GgmlTypeInfo Supported(GgmlType type)
    {
        var info = GgmlTypeInfo.Of(type);
        if (!info.IsSupported)
            throw new ArgumentException($"ggml type {info.Name} ({(int)type}) is not supported here; supported: {string.Join(", ", SupportedTypes)}.", nameof(type));
        return info;
    }

    private static readonly string[] SupportedTypes =
        [.. Enum.GetValues<GgmlType>().Select(GgmlTypeInfo.Of).Where(i => i.IsSupported).Select(i => i.Name)];
}
