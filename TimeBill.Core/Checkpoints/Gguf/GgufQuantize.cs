using TimeBill.Kernels.Quantized;

namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>float32 rows → the bytes of a GGUF tensor of a given type.</summary>
internal static class GgufQuantize
{
    /// <summary>The bytes of <paramref name="values"/> (whole rows) as <paramref name="type"/>.</summary>
    public static byte[] FromFloat32(float[] values, GgmlType type)
    {
        var bytes = new byte[GgmlTypeInfo.Of(type).RowBytes(values.Length)];
        GgmlQuantization.Quantize(type, values, bytes);
        return bytes;
    }
}
