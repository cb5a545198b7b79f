using System.Runtime.InteropServices;

namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>A GGUF tensor widened to float32.</summary>
internal static class GgufDequantize
{
    /// <summary>The values of <paramref name="tensor"/> in row-major order.</summary>
    public static float[] ToFloat32(GgufFile file, GgufTensorInfo tensor)
    {
        var data = file.Data(tensor);
        var result = new float[tensor.ElementCount];
        switch (tensor.Type)
        {
            case GgmlType.F32:
                MemoryMarshal.Cast<byte, float>(data).CopyTo(result);
                break;
            case GgmlType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(data);
                for (int i = 0; i < halves.Length; i++) result[i] = (float)halves[i];
                break;
            case GgmlType.BF16:
                var bits = MemoryMarshal.Cast<byte, ushort>(data);
                var widened = MemoryMarshal.Cast<float, uint>(result.AsSpan());
                for (int i = 0; i < bits.Length; i++) widened[i] = (uint)bits[i] << 16;
                break;
            default:
                throw new ModelLoadException(file.Path, $"tensor '{tensor.Name}': {tensor.Type} is not read yet.");
        }
        return result;
    }
}
