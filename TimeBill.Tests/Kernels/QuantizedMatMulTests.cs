using TimeBill.Kernels.Quantized;

namespace TimeBill.Tests.Kernels;

/// <summary>The prefill product over quantized blocks against the float64 product of the dequantized operands.</summary>
public class QuantizedMatMulTests
{
    public static TheoryData<GgmlType> Formats() => [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

    [Theory]
    [MemberData(nameof(Formats))]
    public void Every_token_and_row_matches_the_float64_product_of_the_dequantized_weights_and_quantized_tokens(GgmlType type)
    {
        if (!QuantizedMatMul.IsSupported(type))
        {
            // Without AVX-VNNI the prefill takes the dequantizing path; the kernel says so instead of running.
            Assert.Throws<ArgumentException>(() => QuantizedMatMul.Multiply(type, new byte[GgmlTypeInfo.Of(type).RowBytes(256)], 1, 256, new float[256], 1, new float[1], 1));
            return;
        }
        var random = new Random(Random.Shared.Next());
        int block = GgmlTypeInfo.Of(type).BlockSize;
        foreach (var (rows, cols, tokens) in new[] { (8, block, 4), (13, 2 * block, 7), (21, block == 32 ? 9 * block : block, 1), (3, block, 5), (19, 2 * block, 3), (40, block, 9) })
        {
            var (weights, w) = QuantizedMatVecTests.RandomMatrix(type, rows, cols, random);
            var x = Enumerable.Range(0, tokens * cols).Select(_ => random.NextSingle() * 4 - 2).ToArray();
            var xq = new float[x.Length];
            // Fewer than MinTokens go through the matrix-vector product, which quantizes x its own way (Q8_K for K-quants).
            var activation = tokens < QuantizedMatMul.MinTokens ? QuantizedMatVec.ActivationType(type) : GgmlType.Q8_0;
            var q8 = new byte[GgmlTypeInfo.Of(activation).RowBytes(cols)];
            for (int t = 0; t < tokens; t++)
            {
                GgmlQuantization.Quantize(activation, x.AsSpan(t * cols, cols), q8);
                GgmlQuantization.Dequantize(activation, q8, xq.AsSpan(t * cols, cols));
            }
            int[] order = Enumerable.Range(0, rows).OrderBy(_ => random.Next()).ToArray();
            foreach (bool permuted in new[] { false, true })
                foreach (int threads in new[] { 1, 2 })
                {
                    int ldy = rows + 3;
                    var y = Enumerable.Repeat(float.NaN, tokens * ldy).ToArray();
                    QuantizedMatMul.Multiply(type, weights, rows, cols, x, tokens, y, ldy, QuantizedMatMul.DefaultVariant with { Threads = threads }, permuted ? order : default);
                    for (int t = 0; t < tokens; t++)
                    {
                        for (int r = 0; r < rows; r++)
                        {
                            int stored = permuted ? order[r] : r;
                            double exact = 0, magnitude = 0;
                            for (int c = 0; c < cols; c++)
                            {
                                double p = (double)w[stored * cols + c] * xq[t * cols + c];
                                exact += p;
                                magnitude += Math.Abs(p);
                            }
                            // float32 accumulation of per-16 partial sums: a few ulps of the magnitude.
                            Assert.True(Math.Abs(y[t * ldy + r] - exact) <= 1e-5 * magnitude + 1e-6,
                                $"{type} [{rows}×{cols}] token {t} row {r}: {y[t * ldy + r]} against {exact} (|Σ| {magnitude})");
                        }
                        for (int r = rows; r < ldy && t + 1 < tokens; r++) Assert.True(float.IsNaN(y[t * ldy + r]), "wrote past the rows");
                    }
                }
        }
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        if (!QuantizedMatMul.IsSupported(GgmlType.Q8_0)) return;
        var weights = new byte[2 * 34];
        var x = new float[3 * 32];
        var y = new float[3 * 2];
        Assert.Contains("Weights hold", Assert.Throws<ArgumentException>(() => QuantizedMatMul.Multiply(GgmlType.Q8_0, weights.AsSpan(1), 2, 32, x, 3, y, 2)).Message);
        Assert.Contains("x holds", Assert.Throws<ArgumentException>(() => QuantizedMatMul.Multiply(GgmlType.Q8_0, weights, 2, 32, x.AsSpan(1), 3, y, 2)).Message);
        Assert.Contains("y holds", Assert.Throws<ArgumentException>(() => QuantizedMatMul.Multiply(GgmlType.Q8_0, weights, 2, 32, x, 3, y.AsSpan(1), 2)).Message);
        Assert.Contains("row 2", Assert.Throws<ArgumentException>(() => QuantizedMatMul.Multiply(GgmlType.Q8_0, weights, 2, 32, x, 3, y, 2, rowOrder: new[] { 0, 2 })).Message);
        Assert.Contains("f32", Assert.Throws<ArgumentException>(() => QuantizedMatMul.Multiply(GgmlType.F32, new byte[256], 2, 32, x, 3, y, 2)).Message);
    }
}
