namespace TimeBill.Kernels;

/// <summary>Conversions between float32 and bfloat16 stored as its raw 16 bits (the upper half of a float32).</summary>
internal static class BFloat16Bits
{
    /// <summary>Widens bfloat16 bits to float32 (exact).</summary>
    public static float ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Rounds float32 to the nearest bfloat16 (ties to even; NaN stays NaN).</summary>
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>Rounds every element of <paramref name="source"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void FromSingle(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length != source.Length)
            throw new ArgumentException($"Destination holds {destination.Length} elements, source {source.Length}.", nameof(destination));
        for (int i = 0; i < source.Length; i++) destination[i] = FromSingle(source[i]);
    }
}
