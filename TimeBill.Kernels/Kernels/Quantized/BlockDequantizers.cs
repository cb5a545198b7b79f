using System.Buffers.Binary;

namespace TimeBill.Kernels.Quantized;

/// <summary>One block of ggml bytes into float32 values, in ggml's element order (ggml-quants.c dequantize_row_*).</summary>
internal static class BlockDequantizers
{
    /// <summary>x = d·q.</summary>
    public static void Q8_0(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = HalfBits.Read(block);
        for (int j = 0; j < 32; j++) y[j] = (sbyte)block[2 + j] * d;
    }

    /// <summary>x = d·(q − 8); element j is the low nibble of byte j, element j+16 its high nibble.</summary>
    public static void Q4_0(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = HalfBits.Read(block);
        for (int j = 0; j < 16; j++)
        {
            y[j] = ((block[2 + j] & 0xF) - 8) * d;
            y[j + 16] = ((block[2 + j] >> 4) - 8) * d;
        }
    }

    /// <summary>
    /// x = d·sc·q − dmin·m. Each 32 qs bytes hold 64 elements: low nibbles are sub-block 2k (elements 64k..64k+31),
    /// high nibbles sub-block 2k+1.
    /// </summary>
    public static void Q4_K(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = HalfBits.Read(block), min = HalfBits.Read(block[2..]);
        var scales = block.Slice(4, 12);
        for (int k = 0; k < 4; k++)
        {
            var (sc1, m1) = KQuantSearch.ScaleMin(2 * k, scales);
            var (sc2, m2) = KQuantSearch.ScaleMin(2 * k + 1, scales);
            float d1 = d * sc1, dm1 = min * m1, d2 = d * sc2, dm2 = min * m2;
            var q = block.Slice(16 + 32 * k, 32);
            for (int l = 0; l < 32; l++)
            {
                y[64 * k + l] = d1 * (q[l] & 0xF) - dm1;
                y[64 * k + 32 + l] = d2 * (q[l] >> 4) - dm2;
            }
        }
    }

    /// <summary>As <see cref="Q4_K"/> plus a fifth bit: bit 2k of qh[l] for element 64k+l, bit 2k+1 for element 64k+32+l.</summary>
    public static void Q5_K(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = HalfBits.Read(block), min = HalfBits.Read(block[2..]);
        var scales = block.Slice(4, 12);
        var qh = block.Slice(16, 32);
        for (int k = 0; k < 4; k++)
        {
            var (sc1, m1) = KQuantSearch.ScaleMin(2 * k, scales);
            var (sc2, m2) = KQuantSearch.ScaleMin(2 * k + 1, scales);
            float d1 = d * sc1, dm1 = min * m1, d2 = d * sc2, dm2 = min * m2;
            var ql = block.Slice(48 + 32 * k, 32);
            for (int l = 0; l < 32; l++)
            {
                y[64 * k + l] = d1 * ((ql[l] & 0xF) + ((qh[l] >> (2 * k)) & 1) * 16) - dm1;
                y[64 * k + 32 + l] = d2 * ((ql[l] >> 4) + ((qh[l] >> (2 * k + 1)) & 1) * 16) - dm2;
            }
        }
    }

    /// <summary>
    /// x = d·sc·(q − 32) with q = 4 low bits from ql and 2 high bits from qh. Per 128-element half: element l takes ql[l]
    /// low nibble and qh[l] bits 0–1, l+32 ql[l+32] low and bits 2–3, l+64 ql[l] high and bits 4–5, l+96 ql[l+32]
    /// high and bits 6–7; element e uses scale e/16; d is the block's LAST two bytes.
    /// </summary>
    public static void Q6_K(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = HalfBits.Read(block[208..]);
        for (int half = 0; half < 2; half++)
        {
            var ql = block.Slice(64 * half, 64);
            var qh = block.Slice(128 + 32 * half, 32);
            var sc = block.Slice(192 + 8 * half, 8);
            var o = y.Slice(128 * half, 128);
            for (int l = 0; l < 32; l++)
            {
                int s = l / 16;
                int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                o[l] = d * (sbyte)sc[s] * q1;
                o[l + 32] = d * (sbyte)sc[s + 2] * q2;
                o[l + 64] = d * (sbyte)sc[s + 4] * q3;
                o[l + 96] = d * (sbyte)sc[s + 6] * q4;
            }
        }
    }

    /// <summary>x = d·q with a float32 d.</summary>
    public static void Q8_K(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = BinaryPrimitives.ReadSingleLittleEndian(block);
        for (int j = 0; j < 256; j++) y[j] = d * (sbyte)block[4 + j];
    }
}
