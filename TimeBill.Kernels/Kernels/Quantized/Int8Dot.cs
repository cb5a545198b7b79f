using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TimeBill.Kernels.Quantized;

/// <summary>The instruction set a quantized (integer) dot product runs on; each has its own engine and all stay tested.</summary>
internal enum Int8Isa
{
    /// <summary>No x86 intrinsics: scalar integer lanes.</summary>
    Portable,
    /// <summary>AVX2 vpmaddubsw + vpmaddwd, 32 bytes per step.</summary>
    Avx2,
    /// <summary>AVX-VNNI vpdpbusd, 32 bytes per step.</summary>
    AvxVnni,
    /// <summary>AVX-512BW vpmaddubsw + vpmaddwd, 64 bytes (two chunks) per step.</summary>
    Avx512BW,
}

/// <summary>
/// The integer core of every quantized product: two chunks of 32 unsigned weight bytes (u ≤ 128) against 32 signed
/// activation bytes (|s| ≤ 127) each. Lane i of a chunk's product is the int32 sum of bytes 4i..4i+3; it is converted
/// to float and multiplied by lane i of the chunk's scale, so a chunk may carry two scales (lanes 0–3, 4–7) for two
/// 16-element groups. With u ≤ 128 and |s| ≤ 127 the 16-bit pair sums of vpmaddubsw (≤ 32 512) cannot saturate.
/// </summary>
internal interface IInt8Dot<TAcc> where TAcc : struct
{
    static abstract bool IsSupported { get; }
    static abstract TAcc Zero { get; }
    static abstract TAcc Add(TAcc acc, Vector256<byte> u0, Vector256<sbyte> s0, Vector256<float> scale0,
        Vector256<byte> u1, Vector256<sbyte> s1, Vector256<float> scale1);
    static abstract float Sum(TAcc acc);
}

/// <summary>Two 8-lane float accumulators, one per chunk of a pair.</summary>
internal struct FloatPair256
{
    public Vector256<float> A, B;
}

internal readonly struct PortableDot : IInt8Dot<FloatPair256>
{
    public static bool IsSupported => true;
    public static FloatPair256 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatPair256 Add(FloatPair256 acc, Vector256<byte> u0, Vector256<sbyte> s0, Vector256<float> scale0,
        Vector256<byte> u1, Vector256<sbyte> s1, Vector256<float> scale1)
    {
        acc.A += Vector256.ConvertToSingle(Lanes(u0, s0)) * scale0;
        acc.B += Vector256.ConvertToSingle(Lanes(u1, s1)) * scale1;
        return acc;
    }

    public static float Sum(FloatPair256 acc) => Vector256.Sum(acc.A + acc.B);

    private static Vector256<int> Lanes(Vector256<byte> u, Vector256<sbyte> s)
    {
        Span<int> lanes = stackalloc int[8];
        for (int i = 0; i < 32; i++) lanes[i / 4] += u.GetElement(i) * s.GetElement(i);
        return Vector256.Create<int>(lanes);
    }
}

internal readonly struct Avx2Dot : IInt8Dot<FloatPair256>
{
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;
    public static FloatPair256 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatPair256 Add(FloatPair256 acc, Vector256<byte> u0, Vector256<sbyte> s0, Vector256<float> scale0,
        Vector256<byte> u1, Vector256<sbyte> s1, Vector256<float> scale1)
    {
        var ones = Vector256<short>.One;
        var i0 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u0, s0), ones);
        var i1 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u1, s1), ones);
        acc.A = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0), scale0, acc.A);
        acc.B = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1), scale1, acc.B);
        return acc;
    }

    public static float Sum(FloatPair256 acc) => Vector256.Sum(acc.A + acc.B);
}

internal readonly struct AvxVnniDot : IInt8Dot<FloatPair256>
{
    public static bool IsSupported => AvxVnni.IsSupported && Fma.IsSupported;
    public static FloatPair256 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatPair256 Add(FloatPair256 acc, Vector256<byte> u0, Vector256<sbyte> s0, Vector256<float> scale0,
        Vector256<byte> u1, Vector256<sbyte> s1, Vector256<float> scale1)
    {
        var i0 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u0, s0);
        var i1 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u1, s1);
        acc.A = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0), scale0, acc.A);
        acc.B = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1), scale1, acc.B);
        return acc;
    }

    public static float Sum(FloatPair256 acc) => Vector256.Sum(acc.A + acc.B);
}

/// <summary>Both chunks in one 512-bit register (.NET 10 exposes no 512-bit VNNI without AVX10, so this is vpmaddubsw + vpmaddwd).</summary>
internal readonly struct Avx512BWDot : IInt8Dot<Vector512<float>>
{
    public static bool IsSupported => Avx512BW.IsSupported;
    public static Vector512<float> Zero => Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> acc, Vector256<byte> u0, Vector256<sbyte> s0, Vector256<float> scale0,
        Vector256<byte> u1, Vector256<sbyte> s1, Vector256<float> scale1)
    {
        var pairs = Avx512BW.MultiplyAddAdjacent(Vector512.Create(u0, u1), Vector512.Create(s0, s1));
        var lanes = Avx512BW.MultiplyAddAdjacent(pairs, Vector512<short>.One);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(lanes), Vector512.Create(scale0, scale1), acc);
    }

    public static float Sum(Vector512<float> acc) => Vector512.Sum(acc);
}
