using System.Buffers.Binary;

namespace TimeBill.Kernels.Quantized;

/// <summary>Q8_K blocks into float32 (the weight formats decode through their <see cref="IQuantFormat.Decode"/>).</summary>
internal static class BlockDequantizers
{
    /// <summary>x = d·q with a float32 d.</summary>
    public static void Q8_K(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = BinaryPrimitives.ReadSingleLittleEndian(block);
        for (int j = 0; j < 256; j++) y[j] = d * (sbyte)block[4 + j];
    }
}
