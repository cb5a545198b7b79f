using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels.Quantized;

/// <summary>IEEE float16 stored as raw bits, as ggml's <c>ggml_half</c>; single values and spans widen by <see cref="HalfWidening"/>'s arithmetic.</summary>
internal static class HalfBits
{
    /// <summary>
    /// One value, exactly, with no table: a lookup per block scale into a 256 KiB table missed the cache whenever the
    /// weights streamed past it, and made the block products several times slower from memory than from L2.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits) => HalfWidening.Widen((short)bits);

    /// <summary>Rounds to the nearest float16, ties to even (ggml's GGML_FP32_TO_FP16).</summary>
    public static ushort FromSingle(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    public static float Read(ReadOnlySpan<byte> source) => ToSingle(System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(source));

    public static void Write(Span<byte> destination, float value) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(destination, FromSingle(value));

    /// <summary>Widens little-endian float16 values (<paramref name="destination"/>.Length of them) at the widest accelerated width.</summary>
    public static void ToSingle(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var bits = MemoryMarshal.Cast<byte, short>(source)[..destination.Length];
        ref short h = ref MemoryMarshal.GetReference(bits);
        ref float f = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 32 <= bits.Length; i += 32)
            {
                var v = Vector512.LoadUnsafe(ref h, (nuint)i);
                HalfWidening.Widen(Vector512.WidenLower(v)).StoreUnsafe(ref f, (nuint)i);
                HalfWidening.Widen(Vector512.WidenUpper(v)).StoreUnsafe(ref f, (nuint)i + 16);
            }
        if (Vector256.IsHardwareAccelerated)
            for (; i + 16 <= bits.Length; i += 16)
            {
                var v = Vector256.LoadUnsafe(ref h, (nuint)i);
                HalfWidening.Widen(Vector256.WidenLower(v)).StoreUnsafe(ref f, (nuint)i);
                HalfWidening.Widen(Vector256.WidenUpper(v)).StoreUnsafe(ref f, (nuint)i + 8);
            }
        if (Vector128.IsHardwareAccelerated)
            for (; i + 8 <= bits.Length; i += 8)
            {
                var v = Vector128.LoadUnsafe(ref h, (nuint)i);
                HalfWidening.Widen(Vector128.WidenLower(v)).StoreUnsafe(ref f, (nuint)i);
                HalfWidening.Widen(Vector128.WidenUpper(v)).StoreUnsafe(ref f, (nuint)i + 4);
            }
        for (; i < bits.Length; i++) destination[i] = ToSingle((ushort)bits[i]);
    }
}
