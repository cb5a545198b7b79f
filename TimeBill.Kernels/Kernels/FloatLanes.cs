using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TimeBill.Kernels;

/// <summary>
/// One SIMD register of floats at a fixed width. Kernels are written once against this interface and the JIT
/// specialises them per width (the implementations are structs), so width is a searchable feature.
/// </summary>
internal interface IFloatLanes<TVector> where TVector : struct
{
    static abstract int Count { get; }
    static abstract bool IsAccelerated { get; }
    static abstract TVector Zero { get; }
    static abstract TVector Broadcast(float value);
    static abstract TVector Load(ref float source);
    static abstract void Store(TVector value, ref float destination);
    /// <summary>
    /// Loads 2·Count bfloat16 values and widens them to two float registers by interleaving zero low halves (one
    /// in-lane unpack each, no shift). The order is per 128-bit block: of the 8 values that block b covers,
    /// <paramref name="lower"/> gets values 8b+0..3 and <paramref name="upper"/> 8b+4..7 (see <see cref="BFloat16Order"/>).
    /// </summary>
    static abstract void LoadBFloat16(ref ushort source, out TVector lower, out TVector upper);
    /// <summary>Loads 2·Count IEEE float16 values (raw bits) and widens them exactly, in order: values 0..Count into <paramref name="lower"/>, the rest into <paramref name="upper"/>.</summary>
    static abstract void LoadFloat16(ref ushort source, out TVector lower, out TVector upper);
    static abstract TVector MultiplyAdd(TVector a, TVector b, TVector addend);
    static abstract TVector Multiply(TVector a, TVector b);
    static abstract TVector Subtract(TVector a, TVector b);
    static abstract TVector Add(TVector a, TVector b);
    static abstract TVector Exp(TVector value);
    static abstract TVector Divide(TVector a, TVector b);
    static abstract float Sum(TVector value);
}

/// <summary>The element order <see cref="IFloatLanes{TVector}.LoadBFloat16"/> produces.</summary>
internal static class BFloat16Order
{
    /// <summary>Index, within a chunk of 2·Count values, of the value that lane <paramref name="lane"/> of the lower (or <paramref name="upper"/>) register holds.</summary>
    public static int Source(int lane, bool upper) => lane / 4 * 8 + (upper ? 4 : 0) + lane % 4;
}

/// <summary>
/// float16 bits (sign-extended to 32-bit lanes) to float32 without F16C, which .NET does not expose: after Giesen's
/// half_to_float_fast5. One shift puts sign, exponent and mantissa in place, one multiply by 2^112 rebiases normals
/// and subnormals exactly (keeping the sign), and magnitudes from 2^16 up (a half's all-ones exponent) get the float's.
/// </summary>
internal static class HalfWidening
{
    private const float Rebias = 5.192297e33f; // 2^112, exactly
    private const int Fields = unchecked((int)0x8FFF_E000); // the sign and the half's 15 exponent and mantissa bits, shifted
    private const float Overflow = 65536f; // above the largest finite half (65504): the exponent was all ones

    /// <summary>One value in scalar registers (the same steps; faster than one lane of a vector for a block scale).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Widen(int h)
    {
        float f = BitConverter.Int32BitsToSingle((h << 13) & Fields) * Rebias;
        return Math.Abs(f) >= Overflow ? BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(f) | 0x7F80_0000) : f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Widen(Vector128<int> h)
    {
        var f = ((h << 13) & Vector128.Create(Fields)).AsSingle() * Vector128.Create(Rebias);
        var special = Vector128.GreaterThanOrEqual(Vector128.Abs(f), Vector128.Create(Overflow)).AsInt32() & Vector128.Create(0x7F80_0000);
        return (f.AsInt32() | special).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Widen(Vector256<int> h)
    {
        var f = ((h << 13) & Vector256.Create(Fields)).AsSingle() * Vector256.Create(Rebias);
        var special = Vector256.GreaterThanOrEqual(Vector256.Abs(f), Vector256.Create(Overflow)).AsInt32() & Vector256.Create(0x7F80_0000);
        return (f.AsInt32() | special).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Widen(Vector512<int> h)
    {
        var f = ((h << 13) & Vector512.Create(Fields)).AsSingle() * Vector512.Create(Rebias);
        var special = Vector512.GreaterThanOrEqual(Vector512.Abs(f), Vector512.Create(Overflow)).AsInt32() & Vector512.Create(0x7F80_0000);
        return (f.AsInt32() | special).AsSingle();
    }
}

internal readonly struct Lanes128 : IFloatLanes<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;
    public static bool IsAccelerated => Vector128.IsHardwareAccelerated;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    public static Vector128<float> Broadcast(float value) => Vector128.Create(value);
    public static Vector128<float> Load(ref float source) => Vector128.LoadUnsafe(ref source);
    public static void Store(Vector128<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // else a call per row and step, with the accumulators spilled around it
    public static void LoadBFloat16(ref ushort source, out Vector128<float> lower, out Vector128<float> upper)
    {
        var bits = Vector128.LoadUnsafe(ref source);
        if (Sse2.IsSupported)
        {
            lower = Sse2.UnpackLow(Vector128<ushort>.Zero, bits).AsSingle();
            upper = Sse2.UnpackHigh(Vector128<ushort>.Zero, bits).AsSingle();
            return;
        }
        lower = (Vector128.WidenLower(bits) << 16).AsSingle();
        upper = (Vector128.WidenUpper(bits) << 16).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadFloat16(ref ushort source, out Vector128<float> lower, out Vector128<float> upper)
    {
        var bits = Vector128.LoadUnsafe(ref Unsafe.As<ushort, short>(ref source));
        lower = HalfWidening.Widen(Vector128.WidenLower(bits));
        upper = HalfWidening.Widen(Vector128.WidenUpper(bits));
    }
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> addend) => Vector128.MultiplyAddEstimate(a, b, addend);
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    public static Vector128<float> Exp(Vector128<float> value) => SingleExp.Exp(value);
    public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;
    public static float Sum(Vector128<float> value) => Vector128.Sum(value);
}

internal readonly struct Lanes256 : IFloatLanes<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;
    public static bool IsAccelerated => Vector256.IsHardwareAccelerated;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
    public static Vector256<float> Load(ref float source) => Vector256.LoadUnsafe(ref source);
    public static void Store(Vector256<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // else a call per row and step, with the accumulators spilled around it
    public static void LoadBFloat16(ref ushort source, out Vector256<float> lower, out Vector256<float> upper)
    {
        var bits = Vector256.LoadUnsafe(ref source);
        if (Avx2.IsSupported)
        {
            lower = Avx2.UnpackLow(Vector256<ushort>.Zero, bits).AsSingle();
            upper = Avx2.UnpackHigh(Vector256<ushort>.Zero, bits).AsSingle();
            return;
        }
        Lanes128.LoadBFloat16(ref source, out var lowerLow, out var upperLow);
        Lanes128.LoadBFloat16(ref Unsafe.Add(ref source, 8), out var lowerHigh, out var upperHigh);
        lower = Vector256.Create(lowerLow, lowerHigh);
        upper = Vector256.Create(upperLow, upperHigh);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadFloat16(ref ushort source, out Vector256<float> lower, out Vector256<float> upper)
    {
        var bits = Vector256.LoadUnsafe(ref Unsafe.As<ushort, short>(ref source));
        lower = HalfWidening.Widen(Vector256.WidenLower(bits));
        upper = HalfWidening.Widen(Vector256.WidenUpper(bits));
    }
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> addend) => Vector256.MultiplyAddEstimate(a, b, addend);
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    public static Vector256<float> Exp(Vector256<float> value) => SingleExp.Exp(value);
    public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
    public static float Sum(Vector256<float> value) => Vector256.Sum(value);
}

internal readonly struct Lanes512 : IFloatLanes<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    public static bool IsAccelerated => Vector512.IsHardwareAccelerated;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
    public static Vector512<float> Load(ref float source) => Vector512.LoadUnsafe(ref source);
    public static void Store(Vector512<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // else a call per row and step, with the accumulators spilled around it
    public static void LoadBFloat16(ref ushort source, out Vector512<float> lower, out Vector512<float> upper)
    {
        if (Avx512BW.IsSupported)
        {
            var bits = Vector512.LoadUnsafe(ref source);
            lower = Avx512BW.UnpackLow(Vector512<ushort>.Zero, bits).AsSingle();
            upper = Avx512BW.UnpackHigh(Vector512<ushort>.Zero, bits).AsSingle();
            return;
        }
        Lanes256.LoadBFloat16(ref source, out var lowerLow, out var upperLow);
        Lanes256.LoadBFloat16(ref Unsafe.Add(ref source, 16), out var lowerHigh, out var upperHigh);
        lower = Vector512.Create(lowerLow, lowerHigh);
        upper = Vector512.Create(upperLow, upperHigh);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadFloat16(ref ushort source, out Vector512<float> lower, out Vector512<float> upper)
    {
        var bits = Vector512.LoadUnsafe(ref Unsafe.As<ushort, short>(ref source));
        lower = HalfWidening.Widen(Vector512.WidenLower(bits));
        upper = HalfWidening.Widen(Vector512.WidenUpper(bits));
    }
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> addend) => Vector512.MultiplyAddEstimate(a, b, addend);
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    public static Vector512<float> Exp(Vector512<float> value) => SingleExp.Exp(value);
    public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
    public static float Sum(Vector512<float> value) => Vector512.Sum(value);
}
