using System.Buffers.Binary;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels.Quantized;

/// <summary>
/// One block of float32 values into ggml's bytes, following ggml's reference quantizers (quantize_row_*_ref) step
/// for step: the same scale choice, search and rounding (ggml's C may contract a·b + c into FMA, so a rare level
/// can differ in the last place of a tie).
/// </summary>
internal static class BlockQuantizers
{
    /// <summary>d = amax/127 (stored fp16), q = round(x/d) away from zero.</summary>
    public static void Q8_0(ReadOnlySpan<float> x, Span<byte> block)
    {
        // Activations of every quantized product pass through here (each decode step, each prefill token): in vectors,
        // with the same operations in the same order, so the bytes are the scalar loop's.
        var (v0, v1, v2, v3) = (Vector256.Create(x), Vector256.Create(x[8..]), Vector256.Create(x[16..]), Vector256.Create(x[24..]));
        // Vector256.Max propagates NaN as MathF.Max does.
        var lanes = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
        float amax = 0;
        for (int i = 0; i < Vector256<float>.Count; i++) amax = MathF.Max(amax, lanes[i]);
        float d = amax / 127, id = d != 0 ? 1f / d : 0f;
        HalfBits.Write(block, d);
        if (!float.IsFinite(amax))
        {
            for (int j = 0; j < 32; j++) block[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
            return;
        }
        var scale = Vector256.Create(id);
        var q = Vector256.Narrow(Vector256.Narrow(RoundAway(v0 * scale), RoundAway(v1 * scale)), Vector256.Narrow(RoundAway(v2 * scale), RoundAway(v3 * scale)));
        q.AsByte().CopyTo(block[2..]);
    }

    /// <summary>MathF.Round(v, AwayFromZero) for finite lanes below 2³¹ in magnitude.</summary>
    private static Vector256<int> RoundAway(Vector256<float> v)
    {
        var t = Vector256.Truncate(v);
        var up = Vector256.GreaterThanOrEqual(Vector256.Abs(v - t), Vector256.Create(0.5f));
        return Vector256.ConvertToInt32(t + (up & Vector256.CopySign(Vector256<float>.One, v)));
    }

    /// <summary>d = (value of largest magnitude)/−8, q = min(15, trunc(x/d + 8.5)); element j and j+16 share byte j.</summary>
    public static void Q4_0(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0, max = 0;
        foreach (float v in x)
            if (amax < MathF.Abs(v)) { amax = MathF.Abs(v); max = v; }
        float d = max / -8, id = d != 0 ? 1f / d : 0f;
        HalfBits.Write(block, d);
        for (int j = 0; j < 16; j++)
        {
            int lo = Math.Min(15, (int)(sbyte)(int)(x[j] * id + 8.5f));
            int hi = Math.Min(15, (int)(sbyte)(int)(x[j + 16] * id + 8.5f));
            block[2 + j] = (byte)(lo | (hi << 4));
        }
    }

    /// <summary>Eight 32-element sub-blocks fitted by <see cref="KQuantSearch.MakeQkx2"/>, scales and mins requantized to 6 bits.</summary>
    public static void Q4_K(ReadOnlySpan<float> x, Span<byte> block) => ScaleMinK(x, block, nmax: 15, rmin: -1f, nstep: 20);

    /// <summary>As <see cref="Q4_K"/> with 5-bit levels: low nibbles in qs, fifth bits in qh.</summary>
    public static void Q5_K(ReadOnlySpan<float> x, Span<byte> block) => ScaleMinK(x, block, nmax: 31, rmin: -0.5f, nstep: 15);

    private static void ScaleMinK(ReadOnlySpan<float> x, Span<byte> block, int nmax, float rmin, int nstep)
    {
        Span<byte> levels = stackalloc byte[256];
        Span<float> weights = stackalloc float[32], scales = stackalloc float[8], mins = stackalloc float[8];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++)
        {
            var sub = x.Slice(32 * j, 32);
            float sumX2 = 0;
            foreach (float v in sub) sumX2 += v * v;
            float avX = MathF.Sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = avX + MathF.Abs(sub[l]);
            scales[j] = KQuantSearch.MakeQkx2(sub, weights, nmax, levels.Slice(32 * j, 32), out mins[j], rmin, 0.1f, nstep, useMad: false);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f, invMin = maxMin > 0 ? 63f / maxMin : 0f;
        Span<byte> ls = stackalloc byte[8], lm = stackalloc byte[8];
        for (int j = 0; j < 8; j++)
        {
            ls[j] = Math.Min((byte)63, (byte)KQuantSearch.NearestInt(invScale * scales[j]));
            lm[j] = Math.Min((byte)63, (byte)KQuantSearch.NearestInt(invMin * mins[j]));
        }
        KQuantSearch.PackScaleMin(ls, lm, block.Slice(4, 12));
        HalfBits.Write(block, maxScale / 63f);
        HalfBits.Write(block[2..], maxMin / 63f);
        float superScale = HalfBits.Read(block), superMin = HalfBits.Read(block[2..]);
        for (int j = 0; j < 8; j++)
        {
            var (sc, m) = KQuantSearch.ScaleMin(j, block.Slice(4, 12));
            float d = superScale * sc;
            if (d == 0) continue;
            float dm = superMin * m;
            for (int i = 0; i < 32; i++)
                levels[32 * j + i] = (byte)Math.Max(0, Math.Min(nmax, KQuantSearch.NearestInt((x[32 * j + i] + dm) / d)));
        }
        if (nmax == 15)
        {
            var qs = block.Slice(16, 128);
            for (int j = 0; j < 4; j++)
                for (int l = 0; l < 32; l++)
                    qs[32 * j + l] = (byte)(levels[64 * j + l] | (levels[64 * j + l + 32] << 4));
            return;
        }
        var qh = block.Slice(16, 32);
        var ql = block.Slice(48, 128);
        qh.Clear();
        for (int j = 0; j < 4; j++)
        {
            byte m1 = (byte)(1 << (2 * j)), m2 = (byte)(2 << (2 * j));
            for (int l = 0; l < 32; l++)
            {
                int l1 = levels[64 * j + l], l2 = levels[64 * j + l + 32];
                if (l1 > 15) { l1 -= 16; qh[l] |= m1; }
                if (l2 > 15) { l2 -= 16; qh[l] |= m2; }
                ql[32 * j + l] = (byte)(l1 | (l2 << 4));
            }
        }
    }

    /// <summary>Sixteen 16-element sub-blocks fitted by <see cref="KQuantSearch.MakeQx"/>, scales requantized to int8 under one fp16 d (stored last).</summary>
    public static void Q6_K(ReadOnlySpan<float> x, Span<byte> block)
    {
        Span<sbyte> levels = stackalloc sbyte[256];
        Span<float> scales = stackalloc float[16];
        float maxScale = 0, maxAbsScale = 0;
        for (int ib = 0; ib < 16; ib++)
        {
            float scale = KQuantSearch.MakeQx(x.Slice(16 * ib, 16), 32, levels.Slice(16 * ib, 16));
            scales[ib] = scale;
            if (MathF.Abs(scale) > maxAbsScale) { maxAbsScale = MathF.Abs(scale); maxScale = scale; }
        }
        block[..210].Clear();
        if (maxAbsScale < KQuantSearch.GroupMaxEps) return;
        float iscale = -128f / maxScale;
        HalfBits.Write(block[208..], 1 / iscale);
        var sc = block.Slice(192, 16);
        for (int ib = 0; ib < 16; ib++) sc[ib] = (byte)(sbyte)Math.Min(127, KQuantSearch.NearestInt(iscale * scales[ib]));
        float superScale = HalfBits.Read(block[208..]);
        for (int j = 0; j < 16; j++)
        {
            float d = superScale * (sbyte)sc[j];
            if (d == 0) continue;
            for (int i = 0; i < 16; i++)
                levels[16 * j + i] = (sbyte)(Math.Max(-32, Math.Min(31, KQuantSearch.NearestInt(x[16 * j + i] / d))) + 32);
        }
        for (int half = 0; half < 2; half++)
        {
            var ql = block.Slice(64 * half, 64);
            var qh = block.Slice(128 + 32 * half, 32);
            int b = 128 * half;
            for (int l = 0; l < 32; l++)
            {
                int q1 = levels[b + l], q2 = levels[b + l + 32], q3 = levels[b + l + 64], q4 = levels[b + l + 96];
                ql[l] = (byte)((q1 & 0xF) | ((q3 & 0xF) << 4));
                ql[l + 32] = (byte)((q2 & 0xF) | ((q4 & 0xF) << 4));
                qh[l] = (byte)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
    }

    /// <summary>d = (value of largest magnitude)/−127 as float32, q = min(127, nearest(x/d)), bsums = sums of 16 quants.</summary>
    public static void Q8_K(ReadOnlySpan<float> x, Span<byte> block)
    {
        float max = 0, amax = 0;
        foreach (float v in x)
            if (MathF.Abs(v) > amax) { amax = MathF.Abs(v); max = v; }
        block[..292].Clear();
        if (amax == 0) return;
        float iscale = -127f / max;
        for (int j = 0; j < 256; j++) block[4 + j] = (byte)(sbyte)Math.Min(127, KQuantSearch.NearestInt(iscale * x[j]));
        for (int g = 0; g < 16; g++)
        {
            int sum = 0;
            for (int i = 0; i < 16; i++) sum += (sbyte)block[4 + 16 * g + i];
            BinaryPrimitives.WriteInt16LittleEndian(block[(260 + 2 * g)..], (short)sum);
        }
        BinaryPrimitives.WriteSingleLittleEndian(block, 1 / iscale);
    }
}
