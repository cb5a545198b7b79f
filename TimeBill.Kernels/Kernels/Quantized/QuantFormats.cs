using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels.Quantized;

/// <summary>
/// One weight format of the quantized products: its block size, how a block decodes to float32 (the float path),
/// and its row dot product against the int8 activation blocks (Q8_0 for Q8_0/Q4_0, Q8_K for the K-quants) written
/// once over <see cref="IInt8Dot{TAcc}"/>. Signed weights use the sign trick (|w| against sign(w)·x); unsigned ones
/// subtract their offset or mins through the activation's block sums, as ggml's vec_dot kernels do.
/// </summary>
internal unsafe interface IQuantFormat
{
    static abstract int BlockSize { get; }
    static abstract int BlockBytes { get; }
    static abstract void Decode(byte* block, float* values);
    static abstract float DotInt8<TE, TAcc>(byte* w, byte* x, int blocks) where TE : IInt8Dot<TAcc> where TAcc : struct;
}

internal static unsafe class QuantLoads
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Half(byte* p) => HalfBits.ToSingle(Unsafe.ReadUnaligned<ushort>(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Bytes(byte* p) => Vector256.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> SBytes(byte* p) => Vector256.Load((sbyte*)p);

    /// <summary>|w| as unsigned bytes and x with w's sign, so Σ u·s = Σ w·x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SignTrick(Vector256<sbyte> w, Vector256<sbyte> x, out Vector256<byte> u, out Vector256<sbyte> s)
    {
        u = Vector256.Abs(w).AsByte();
        s = Vector256.ConditionalSelect(Vector256.LessThan(w, Vector256<sbyte>.Zero), -x, x);
    }

    /// <summary>Eight 6-bit scales and mins of a Q4_K/Q5_K super-block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScalesMins(byte* packed, int* scales, int* mins)
    {
        var bytes = new ReadOnlySpan<byte>(packed, 12);
        for (int j = 0; j < 8; j++) (scales[j], mins[j]) = KQuantSearch.ScaleMin(j, bytes);
    }

    /// <summary>Σ mins[j]·(bsums[2j] + bsums[2j+1]) over a Q8_K block's sixteen 16-element sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MinSums(byte* q8k, int* mins)
    {
        short* bsums = (short*)(q8k + 260);
        int sum = 0;
        for (int j = 0; j < 8; j++) sum += mins[j] * (Unsafe.ReadUnaligned<short>(bsums + 2 * j) + Unsafe.ReadUnaligned<short>(bsums + 2 * j + 1));
        return sum;
    }
}

internal readonly unsafe struct Q8_0Format : IQuantFormat
{
    public static int BlockSize => 32;
    public static int BlockBytes => 34;
    public static void Decode(byte* block, float* values) =>
        BlockDequantizers.Q8_0(new ReadOnlySpan<byte>(block, 34), new Span<float>(values, 32));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DotInt8<TE, TAcc>(byte* w, byte* x, int blocks) where TE : IInt8Dot<TAcc> where TAcc : struct
    {
        TAcc acc = TE.Zero;
        for (int b = 0; b < blocks; b += 2)
        {
            QuantLoads.SignTrick(QuantLoads.SBytes(w + 2), QuantLoads.SBytes(x + 2), out var u0, out var s0);
            var scale0 = Vector256.Create(QuantLoads.Half(w) * QuantLoads.Half(x));
            Vector256<byte> u1 = default;
            Vector256<sbyte> s1 = default;
            Vector256<float> scale1 = default;
            if (b + 1 < blocks)
            {
                QuantLoads.SignTrick(QuantLoads.SBytes(w + 36), QuantLoads.SBytes(x + 36), out u1, out s1);
                scale1 = Vector256.Create(QuantLoads.Half(w + 34) * QuantLoads.Half(x + 34));
            }
            acc = TE.Add(acc, u0, s0, scale0, u1, s1, scale1);
            w += 68;
            x += 68;
        }
        return TE.Sum(acc);
    }
}

internal readonly unsafe struct Q4_0Format : IQuantFormat
{
    public static int BlockSize => 32;
    public static int BlockBytes => 18;
    public static void Decode(byte* block, float* values) =>
        BlockDequantizers.Q4_0(new ReadOnlySpan<byte>(block, 18), new Span<float>(values, 32));

    /// <summary>The block's 32 values q − 8 in element order: low nibbles then high nibbles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Values(byte* block)
    {
        var q = Vector128.Load(block + 2);
        var nibbles = Vector256.Create(q & Vector128.Create((byte)0x0F), Vector128.ShiftRightLogical(q, 4));
        return nibbles.AsSByte() - Vector256.Create((sbyte)8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DotInt8<TE, TAcc>(byte* w, byte* x, int blocks) where TE : IInt8Dot<TAcc> where TAcc : struct
    {
        TAcc acc = TE.Zero;
        for (int b = 0; b < blocks; b += 2)
        {
            QuantLoads.SignTrick(Values(w), QuantLoads.SBytes(x + 2), out var u0, out var s0);
            var scale0 = Vector256.Create(QuantLoads.Half(w) * QuantLoads.Half(x));
            Vector256<byte> u1 = default;
            Vector256<sbyte> s1 = default;
            Vector256<float> scale1 = default;
            if (b + 1 < blocks)
            {
                QuantLoads.SignTrick(Values(w + 18), QuantLoads.SBytes(x + 36), out u1, out s1);
                scale1 = Vector256.Create(QuantLoads.Half(w + 18) * QuantLoads.Half(x + 34));
            }
            acc = TE.Add(acc, u0, s0, scale0, u1, s1, scale1);
            w += 36;
            x += 68;
        }
        return TE.Sum(acc);
    }
}

internal readonly unsafe struct Q4_KFormat : IQuantFormat
{
    public static int BlockSize => 256;
    public static int BlockBytes => 144;
    public static void Decode(byte* block, float* values) =>
        BlockDequantizers.Q4_K(new ReadOnlySpan<byte>(block, 144), new Span<float>(values, 256));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DotInt8<TE, TAcc>(byte* w, byte* x, int blocks) where TE : IInt8Dot<TAcc> where TAcc : struct
    {
        TAcc acc = TE.Zero;
        float minTotal = 0;
        int* scales = stackalloc int[8], mins = stackalloc int[8];
        var lowNibble = Vector256.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++, w += 144, x += 292)
        {
            float dx = Unsafe.ReadUnaligned<float>(x);
            float d = QuantLoads.Half(w) * dx, dmin = QuantLoads.Half(w + 2) * dx;
            QuantLoads.ScalesMins(w + 4, scales, mins);
            minTotal += dmin * QuantLoads.MinSums(x, mins);
            for (int k = 0; k < 4; k++)
            {
                var q = QuantLoads.Bytes(w + 16 + 32 * k);
                acc = TE.Add(acc,
                    q & lowNibble, QuantLoads.SBytes(x + 4 + 64 * k), Vector256.Create(d * scales[2 * k]),
                    Vector256.ShiftRightLogical(q, 4), QuantLoads.SBytes(x + 36 + 64 * k), Vector256.Create(d * scales[2 * k + 1]));
            }
        }
        return TE.Sum(acc) - minTotal;
    }
}

internal readonly unsafe struct Q5_KFormat : IQuantFormat
{
    public static int BlockSize => 256;
    public static int BlockBytes => 176;
    public static void Decode(byte* block, float* values) =>
        BlockDequantizers.Q5_K(new ReadOnlySpan<byte>(block, 176), new Span<float>(values, 256));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DotInt8<TE, TAcc>(byte* w, byte* x, int blocks) where TE : IInt8Dot<TAcc> where TAcc : struct
    {
        TAcc acc = TE.Zero;
        float minTotal = 0;
        int* scales = stackalloc int[8], mins = stackalloc int[8];
        var lowNibble = Vector256.Create((byte)0x0F);
        var one = Vector256.Create((byte)1);
        for (int b = 0; b < blocks; b++, w += 176, x += 292)
        {
            float dx = Unsafe.ReadUnaligned<float>(x);
            float d = QuantLoads.Half(w) * dx, dmin = QuantLoads.Half(w + 2) * dx;
            QuantLoads.ScalesMins(w + 4, scales, mins);
            minTotal += dmin * QuantLoads.MinSums(x, mins);
            var qh = QuantLoads.Bytes(w + 16);
            for (int k = 0; k < 4; k++)
            {
                var ql = QuantLoads.Bytes(w + 48 + 32 * k);
                var u0 = (ql & lowNibble) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(qh, 2 * k) & one, 4);
                var u1 = Vector256.ShiftRightLogical(ql, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(qh, 2 * k + 1) & one, 4);
                acc = TE.Add(acc,
                    u0, QuantLoads.SBytes(x + 4 + 64 * k), Vector256.Create(d * scales[2 * k]),
                    u1, QuantLoads.SBytes(x + 36 + 64 * k), Vector256.Create(d * scales[2 * k + 1]));
            }
        }
        return TE.Sum(acc) - minTotal;
    }
}

internal readonly unsafe struct Q6_KFormat : IQuantFormat
{
    public static int BlockSize => 256;
    public static int BlockBytes => 210;
    public static void Decode(byte* block, float* values) =>
        BlockDequantizers.Q6_K(new ReadOnlySpan<byte>(block, 210), new Span<float>(values, 256));

    /// <summary>Lanes 0–3 scaled by sub-block <paramref name="first"/>'s scale, lanes 4–7 by the next one's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Scales(float d, sbyte* sc, int first) =>
        Vector256.Create(Vector128.Create(d * sc[first]), Vector128.Create(d * sc[first + 1]));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DotInt8<TE, TAcc>(byte* w, byte* x, int blocks) where TE : IInt8Dot<TAcc> where TAcc : struct
    {
        TAcc acc = TE.Zero;
        float offsetTotal = 0;
        var lowNibble = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)3);
        for (int b = 0; b < blocks; b++, w += 210, x += 292)
        {
            float d = QuantLoads.Half(w + 208) * Unsafe.ReadUnaligned<float>(x);
            sbyte* sc = (sbyte*)(w + 192);
            short* bsums = (short*)(x + 260);
            int offset = 0;
            for (int g = 0; g < 16; g++) offset += sc[g] * Unsafe.ReadUnaligned<short>(bsums + g);
            offsetTotal += 32 * d * offset;
            for (int half = 0; half < 2; half++)
            {
                byte* ql = w + 64 * half;
                var lo = QuantLoads.Bytes(ql);
                var hi = QuantLoads.Bytes(ql + 32);
                var h = QuantLoads.Bytes(w + 128 + 32 * half);
                var u1 = (lo & lowNibble) | Vector256.ShiftLeft(h & three, 4);
                var u2 = (hi & lowNibble) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(h, 2) & three, 4);
                var u3 = Vector256.ShiftRightLogical(lo, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(h, 4) & three, 4);
                var u4 = Vector256.ShiftRightLogical(hi, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(h, 6), 4);
                byte* xs = x + 4 + 128 * half;
                sbyte* s = sc + 8 * half;
                acc = TE.Add(acc, u1, QuantLoads.SBytes(xs), Scales(d, s, 0), u2, QuantLoads.SBytes(xs + 32), Scales(d, s, 2));
                acc = TE.Add(acc, u3, QuantLoads.SBytes(xs + 64), Scales(d, s, 4), u4, QuantLoads.SBytes(xs + 96), Scales(d, s, 6));
            }
        }
        return TE.Sum(acc) - offsetTotal;
    }
}
