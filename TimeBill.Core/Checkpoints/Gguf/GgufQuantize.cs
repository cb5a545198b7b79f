using System.Runtime.InteropServices;

namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>float32 rows → the bytes of a GGUF tensor of a given type.</summary>
internal static class GgufQuantize
{
    /// <summary>The bytes of <paramref name="values"/> (rows of <paramref name="cols"/>) as <paramref name="type"/>.</summary>
    public static byte[] FromFloat32(float[] values, GgmlType type, int cols)
    {
        switch (type)
        {
            case GgmlType.F32: return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            case GgmlType.F16:
                var halves = new Half[values.Length];
                for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
                return MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
            case GgmlType.BF16:
                var bits = new ushort[values.Length];
                TimeBill.Kernels.BFloat16Bits.FromSingle(values, bits);
                return MemoryMarshal.AsBytes(bits.AsSpan()).ToArray();
            default: throw new NotSupportedException($"writing {type} is not supported yet.");
        }
    }
}
