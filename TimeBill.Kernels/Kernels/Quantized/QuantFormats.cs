using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels.Quantized;

/// <summary>
/// One weight format of the quantized products: its block size, how a block decodes to float32 (the float path),
/// and its row dot product against the int8 activation blocks (Q8_0 for Q8_0/Q4_0, Q8_K for the K-quants) written
/// once over <see cref="IInt8Dot{TAcc}"/>; both decode with the same 256-bit byte unpacking. Signed weights use the sign trick (|w| against sign(w)·x); unsigned ones
/// subtract their offset or mins through the activation's block sums, as ggml's vec_dot kernels do.
/// </summary>
internal unsafe interface IQuantFormat
{
    static abstract int BlockSize { get; }
    static abstract int BlockBytes { get; }
    static abstract void Decode(byte* block, float* values);
    static abstract float DotInt8<TE, TAcc>(byte* w, byte* x, int blocks) where TE : IInt8Dot<TAcc> where TAcc : struct;
    /// <summary>
    /// 32-element sub-block <paramref name="sub"/> of a block as unsigned levels u with value = s·u − o, where s and o hold
    /// for elements 0–15 (<paramref name="scales"/>[0], <paramref name="offsets"/>[0]) and 16–31 ([1]).
    /// </summary>
    static abstract Vector256<byte> Levels(byte* block, int sub, float* scales, float* offsets);
    /// <summary>Whether elements 0–15 and 16–31 of a sub-block may have different scales (Q6_K).</summary>
    static abstract bool SixteenElementScales { get; }
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
        s = System.Runtime.Intrinsics.X86.Avx2.IsSupported ? System.Runtime.Intrinsics.X86.Avx2.Sign(x, w)
            : Vector256.ConditionalSelect(Vector256.LessThan(w, Vector256<sbyte>.Zero), -x, x);
    }

    /// <summary>
    /// The eight 6-bit scales and mins of a Q4_K/Q5_K super-block as bytes of two ulongs (sub-block j in byte j),
    /// unpacked four at a time from the three 32-bit words of the 12 packed bytes (get_scale_min_k4 in parallel).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScalesMins(byte* packed, out ulong scales, out ulong mins)
    {
        uint a0 = Unsafe.ReadUnaligned<uint>(packed), a1 = Unsafe.ReadUnaligned<uint>(packed + 4), a2 = Unsafe.ReadUnaligned<uint>(packed + 8);
        uint lowScales = a0 & 0x3F3F3F3Fu, lowMins = a1 & 0x3F3F3F3Fu;
        uint highScales = (a2 & 0x0F0F0F0Fu) | (((a0 >> 6) & 0x03030303u) << 4);
        uint highMins = ((a2 >> 4) & 0x0F0F0F0Fu) | (((a1 >> 6) & 0x03030303u) << 4);
        scales = lowScales | ((ulong)highScales << 32);
        mins = lowMins | ((ulong)highMins << 32);
    }

    /// <summary>Sub-block <paramref name="sub"/>'s scale d·sc and offset dmin·m of a Q4_K/Q5_K super-block, for both of its halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScaleMin(byte* block, int sub, float* scales, float* offsets)
    {
        ScalesMins(block + 4, out ulong sc, out ulong mins);
        scales[0] = scales[1] = Half(block) * Byte(sc, sub);
        offsets[0] = offsets[1] = Half(block + 2) * Byte(mins, sub);
    }

    /// <summary>Byte <paramref name="j"/> of <paramref name="packed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Byte(ulong packed, int j) => (int)(packed >> (8 * j)) & 0xFF;

    /// <summary>Σ mins[j]·(bsums[2j] + bsums[2j+1]) over a Q8_K block's sixteen 16-element sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MinSums(byte* q8k, ulong mins)
    {
        short* bsums = (short*)(q8k + 260);
        int sum = 0;
        for (int j = 0; j < 8; j++) sum += Byte(mins, j) * (Unsafe.ReadUnaligned<short>(bsums + 2 * j) + Unsafe.ReadUnaligned<short>(bsums + 2 * j + 1));
        return sum;
    }

    /// <summary>Writes scale·u − offset for 32 unsigned levels into <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreLevels(Vector256<byte> u, float scale, float offset, float* destination)
    {
        var s = Vector256.Create(scale);
        var o = Vector256.Create(offset);
        var (lo, hi) = Vector256.Widen(u);
        var (a, b) = Vector256.Widen(lo);
        var (c, d) = Vector256.Widen(hi);
        (Vector256.ConvertToSingle(a.AsInt32()) * s - o).Store(destination);
        (Vector256.ConvertToSingle(b.AsInt32()) * s - o).Store(destination + 8);
        (Vector256.ConvertToSingle(c.AsInt32()) * s - o).Store(destination + 16);
        (Vector256.ConvertToSingle(d.AsInt32()) * s - o).Store(destination + 24);
    }

    /// <summary>Writes scale·q for 32 signed levels; <paramref name="scale2"/> applies to the second 16 (Q6_K's two sub-blocks per chunk).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSigned(Vector256<sbyte> q, float scale, float scale2, float* destination)
    {
        var s = Vector256.Create(scale);
        var s2 = Vector256.Create(scale2);
        var (lo, hi) = Vector256.Widen(q);
        var (a, b) = Vector256.Widen(lo);
        var (c, d) = Vector256.Widen(hi);
        (Vector256.ConvertToSingle(a) * s).Store(destination);
        (Vector256.ConvertToSingle(b) * s).Store(destination + 8);
        (Vector256.ConvertToSingle(c) * s2).Store(destination + 16);
        (Vector256.ConvertToSingle(d) * s2).Store(destination + 24);
    }
}

/// <summary>Q8_0: fp16 d, 32 int8 q; x = d·q.</summary>
internal readonly unsafe struct Q8_0Format : IQuantFormat
{
    public static bool SixteenElementScales => false;
    public static int BlockSize => 32;
    public static int BlockBytes => 34;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Levels(byte* block, int sub, float* scales, float* offsets)
    {
        float d = QuantLoads.Half(block);
        scales[0] = scales[1] = d;
        offsets[0] = offsets[1] = 128 * d;
        return QuantLoads.Bytes(block + 2) ^ Vector256.Create((byte)0x80);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode(byte* block, float* values)
    {
        float d = QuantLoads.Half(block);
        QuantLoads.StoreSigned(QuantLoads.SBytes(block + 2), d, d, values);
    }

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

/// <summary>Q4_0: fp16 d, 16 bytes; element j is the low nibble of byte j, element j+16 its high nibble; x = d·(q − 8).</summary>
internal readonly unsafe struct Q4_0Format : IQuantFormat
{
    public static bool SixteenElementScales => false;
    public static int BlockSize => 32;
    public static int BlockBytes => 18;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Levels(byte* block, int sub, float* scales, float* offsets)
    {
        float d = QuantLoads.Half(block);
        scales[0] = scales[1] = d;
        offsets[0] = offsets[1] = 8 * d;
        return Nibbles(block);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode(byte* block, float* values)
    {
        float d = QuantLoads.Half(block);
        QuantLoads.StoreSigned(Values(block), d, d, values);
    }

    /// <summary>The block's 32 levels q (0–15) in element order: low nibbles then high nibbles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Nibbles(byte* block)
    {
        var q = Vector128.Load(block + 2);
        return Vector256.Create(q & Vector128.Create((byte)0x0F), Vector128.ShiftRightLogical(q, 4));
    }

    /// <summary>The block's 32 values q − 8 in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Values(byte* block) => Nibbles(block).AsSByte() - Vector256.Create((sbyte)8);

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

/// <summary>
/// Q4_K: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles; x = d·sc·q − dmin·m. Each 32
/// bytes hold 64 elements: low nibbles are sub-block 2k (elements 64k..64k+31), high nibbles sub-block 2k+1.
/// </summary>
internal readonly unsafe struct Q4_KFormat : IQuantFormat
{
    public static bool SixteenElementScales => false;
    public static int BlockSize => 256;
    public static int BlockBytes => 144;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Levels(byte* block, int sub, float* scales, float* offsets)
    {
        QuantLoads.ScaleMin(block, sub, scales, offsets);
        var q = QuantLoads.Bytes(block + 16 + 32 * (sub / 2));
        return (sub & 1) == 0 ? q & Vector256.Create((byte)0x0F) : Vector256.ShiftRightLogical(q, 4);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode(byte* block, float* values)
    {
        float d = QuantLoads.Half(block), dmin = QuantLoads.Half(block + 2);
        QuantLoads.ScalesMins(block + 4, out ulong scales, out ulong mins);
        var lowNibble = Vector256.Create((byte)0x0F);
        for (int k = 0; k < 4; k++)
        {
            var q = QuantLoads.Bytes(block + 16 + 32 * k);
            QuantLoads.StoreLevels(q & lowNibble, d * QuantLoads.Byte(scales, 2 * k), dmin * QuantLoads.Byte(mins, 2 * k), values + 64 * k);
            QuantLoads.StoreLevels(Vector256.ShiftRightLogical(q, 4), d * QuantLoads.Byte(scales, 2 * k + 1), dmin * QuantLoads.Byte(mins, 2 * k + 1), values + 64 * k + 32);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DotInt8<TE, TAcc>(byte* w, byte* x, int blocks) where TE : IInt8Dot<TAcc> where TAcc : struct
    {
        TAcc acc = TE.Zero;
        float minTotal = 0;
        var lowNibble = Vector256.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++, w += 144, x += 292)
        {
            float dx = Unsafe.ReadUnaligned<float>(x);
            float d = QuantLoads.Half(w) * dx, dmin = QuantLoads.Half(w + 2) * dx;
            QuantLoads.ScalesMins(w + 4, out ulong scales, out ulong mins);
            minTotal += dmin * QuantLoads.MinSums(x, mins);
            for (int k = 0; k < 4; k++)
            {
                var q = QuantLoads.Bytes(w + 16 + 32 * k);
                acc = TE.Add(acc,
                    q & lowNibble, QuantLoads.SBytes(x + 4 + 64 * k), Vector256.Create(d * QuantLoads.Byte(scales, 2 * k)),
                    Vector256.ShiftRightLogical(q, 4), QuantLoads.SBytes(x + 36 + 64 * k), Vector256.Create(d * QuantLoads.Byte(scales, 2 * k + 1)));
            }
        }
        return TE.Sum(acc) - minTotal;
    }
}

/// <summary>Q5_K: as Q4_K (qh[32] before qs[128]) plus a fifth bit: bit 2k of qh[l] for element 64k+l, bit 2k+1 for 64k+32+l.</summary>
internal readonly unsafe struct Q5_KFormat : IQuantFormat
{
    public static bool SixteenElementScales => false;
    public static int BlockSize => 256;
    public static int BlockBytes => 176;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Levels(byte* block, int sub, float* scales, float* offsets)
    {
        QuantLoads.ScaleMin(block, sub, scales, offsets);
        Levels(block, QuantLoads.Bytes(block + 16), sub / 2, out var u0, out var u1);
        return (sub & 1) == 0 ? u0 : u1;
    }
    /// <summary>Sub-blocks 2k and 2k+1 as 5-bit levels: nibbles of qs group k plus qh bits 2k and 2k+1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Levels(byte* block, Vector256<byte> qh, int k, out Vector256<byte> u0, out Vector256<byte> u1)
    {
        var one = Vector256.Create((byte)1);
        var ql = QuantLoads.Bytes(block + 48 + 32 * k);
        u0 = (ql & Vector256.Create((byte)0x0F)) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(qh, 2 * k) & one, 4);
        u1 = Vector256.ShiftRightLogical(ql, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(qh, 2 * k + 1) & one, 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode(byte* block, float* values)
    {
        float d = QuantLoads.Half(block), dmin = QuantLoads.Half(block + 2);
        QuantLoads.ScalesMins(block + 4, out ulong scales, out ulong mins);
        var qh = QuantLoads.Bytes(block + 16);
        for (int k = 0; k < 4; k++)
        {
            Levels(block, qh, k, out var u0, out var u1);
            QuantLoads.StoreLevels(u0, d * QuantLoads.Byte(scales, 2 * k), dmin * QuantLoads.Byte(mins, 2 * k), values + 64 * k);
            QuantLoads.StoreLevels(u1, d * QuantLoads.Byte(scales, 2 * k + 1), dmin * QuantLoads.Byte(mins, 2 * k + 1), values + 64 * k + 32);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DotInt8<TE, TAcc>(byte* w, byte* x, int blocks) where TE : IInt8Dot<TAcc> where TAcc : struct
    {
        TAcc acc = TE.Zero;
        float minTotal = 0;
        for (int b = 0; b < blocks; b++, w += 176, x += 292)
        {
            float dx = Unsafe.ReadUnaligned<float>(x);
            float d = QuantLoads.Half(w) * dx, dmin = QuantLoads.Half(w + 2) * dx;
            QuantLoads.ScalesMins(w + 4, out ulong scales, out ulong mins);
            minTotal += dmin * QuantLoads.MinSums(x, mins);
            var qh = QuantLoads.Bytes(w + 16);
            for (int k = 0; k < 4; k++)
            {
                Levels(w, qh, k, out var u0, out var u1);
                acc = TE.Add(acc,
                    u0, QuantLoads.SBytes(x + 4 + 64 * k), Vector256.Create(d * QuantLoads.Byte(scales, 2 * k)),
                    u1, QuantLoads.SBytes(x + 36 + 64 * k), Vector256.Create(d * QuantLoads.Byte(scales, 2 * k + 1)));
            }
        }
        return TE.Sum(acc) - minTotal;
    }
}

/// <summary>
/// Q6_K: ql[128], qh[64], int8 scales[16], then fp16 d LAST; x = d·sc·(q − 32). Per 128-element half: element l takes
/// ql[l] low nibble and qh[l] bits 0–1, l+32 ql[l+32] low and bits 2–3, l+64 ql[l] high and bits 4–5, l+96 ql[l+32]
/// high and bits 6–7; element e uses scale e/16.
/// </summary>
internal readonly unsafe struct Q6_KFormat : IQuantFormat
{
    public static bool SixteenElementScales => true;
    public static int BlockSize => 256;
    public static int BlockBytes => 210;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Levels(byte* block, int sub, float* scales, float* offsets)
    {
        float d = QuantLoads.Half(block + 208);
        sbyte* sc = (sbyte*)(block + 192) + 2 * sub;
        scales[0] = d * sc[0];
        scales[1] = d * sc[1];
        offsets[0] = 32 * scales[0];
        offsets[1] = 32 * scales[1];
        Levels(block, sub / 4, out var u1, out var u2, out var u3, out var u4);
        return (sub % 4) switch { 0 => u1, 1 => u2, 2 => u3, _ => u4 };
    }
    /// <summary>The four 32-element quarters of a 128-element half as unsigned 6-bit levels (q + 32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Levels(byte* block, int half, out Vector256<byte> u1, out Vector256<byte> u2, out Vector256<byte> u3, out Vector256<byte> u4)
    {
        var lowNibble = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)3);
        var lo = QuantLoads.Bytes(block + 64 * half);
        var hi = QuantLoads.Bytes(block + 64 * half + 32);
        var h = QuantLoads.Bytes(block + 128 + 32 * half);
        u1 = (lo & lowNibble) | Vector256.ShiftLeft(h & three, 4);
        u2 = (hi & lowNibble) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(h, 2) & three, 4);
        u3 = Vector256.ShiftRightLogical(lo, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(h, 4) & three, 4);
        u4 = Vector256.ShiftRightLogical(hi, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(h, 6), 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode(byte* block, float* values)
    {
        float d = QuantLoads.Half(block + 208);
        sbyte* sc = (sbyte*)(block + 192);
        var offset = Vector256.Create((sbyte)32);
        for (int half = 0; half < 2; half++, sc += 8, values += 128)
        {
            Levels(block, half, out var u1, out var u2, out var u3, out var u4);
            QuantLoads.StoreSigned(u1.AsSByte() - offset, d * sc[0], d * sc[1], values);
            QuantLoads.StoreSigned(u2.AsSByte() - offset, d * sc[2], d * sc[3], values + 32);
            QuantLoads.StoreSigned(u3.AsSByte() - offset, d * sc[4], d * sc[5], values + 64);
            QuantLoads.StoreSigned(u4.AsSByte() - offset, d * sc[6], d * sc[7], values + 96);
        }
    }

    /// <summary>Lanes 0–3 scaled by sub-block <paramref name="first"/>'s scale, lanes 4–7 by the next one's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Scales(float d, sbyte* sc, int first) =>
        Vector256.Create(Vector128.Create(d * sc[first]), Vector128.Create(d * sc[first + 1]));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DotInt8<TE, TAcc>(byte* w, byte* x, int blocks) where TE : IInt8Dot<TAcc> where TAcc : struct
    {
        TAcc acc = TE.Zero;
        float offsetTotal = 0;
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
                Levels(w, half, out var u1, out var u2, out var u3, out var u4);
                byte* xs = x + 4 + 128 * half;
                sbyte* s = sc + 8 * half;
                acc = TE.Add(acc, u1, QuantLoads.SBytes(xs), Scales(d, s, 0), u2, QuantLoads.SBytes(xs + 32), Scales(d, s, 2));
                acc = TE.Add(acc, u3, QuantLoads.SBytes(xs + 64), Scales(d, s, 4), u4, QuantLoads.SBytes(xs + 96), Scales(d, s, 6));
            }
        }
        return TE.Sum(acc) - offsetTotal;
    }
}
