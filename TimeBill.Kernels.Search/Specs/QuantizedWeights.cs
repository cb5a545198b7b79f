using TimeBill.Kernels.Quantized;

namespace TimeBill.Kernels.Specs;

/// <summary>Weights of a quantized kernel's case: uniform in [−1, 1), stored in a ggml block format row by row, and their dequantized values.</summary>
internal static class QuantizedWeights
{
    public static (byte[] Blocks, float[] Dequantized) Random(GgmlType type, int rows, int cols, Random random, Func<Random, long, float[]> floats)
    {
        var values = floats(random, (long)rows * cols);
        int rowBytes = GgmlTypeInfo.Of(type).RowBytes(cols);
        var blocks = new byte[(long)rows * rowBytes];
        for (int r = 0; r < rows; r++)
            GgmlQuantization.Quantize(type, values.AsSpan(r * cols, cols), blocks.AsSpan(r * rowBytes, rowBytes));
        var dequantized = new float[values.Length];
        GgmlQuantization.Dequantize(type, blocks, dequantized);
        return (blocks, dequantized);
    }
}
