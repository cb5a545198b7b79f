using TimeBill.Kernels.Quantized;

namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>A GGUF tensor widened to float32.</summary>
internal static class GgufDequantize
{
    /// <summary>The values of <paramref name="tensor"/> in row-major order.</summary>
    public static float[] ToFloat32(GgufFile file, GgufTensorInfo tensor)
    {
        var result = new float[tensor.ElementCount];
        GgmlQuantization.Dequantize(tensor.Type, file.Data(tensor), result);
        return result;
    }
}
