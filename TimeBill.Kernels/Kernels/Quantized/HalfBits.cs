namespace TimeBill.Kernels.Quantized;

/// <summary>IEEE float16 stored as raw bits, as ggml's <c>ggml_half</c>; widening goes through a 256 KiB table (as ggml's CPU backend does), a lookup per block scale.</summary>
internal static class HalfBits
{
    private static readonly float[] Widened = CreateTable();

    public static float ToSingle(ushort bits) => Widened[bits];

    /// <summary>Rounds to the nearest float16, ties to even (ggml's GGML_FP32_TO_FP16).</summary>
    public static ushort FromSingle(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    public static float Read(ReadOnlySpan<byte> source) => Widened[System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(source)];

    public static void Write(Span<byte> destination, float value) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(destination, FromSingle(value));

    private static float[] CreateTable()
    {
        var table = new float[65536];
        for (int i = 0; i < table.Length; i++) table[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        return table;
    }
}
