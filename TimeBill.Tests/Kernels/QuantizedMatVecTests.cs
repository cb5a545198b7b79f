using TimeBill.Kernels;
using TimeBill.Kernels.Quantized;
using TimeBill.Kernels.Search;
using TimeBill.Kernels.Specs;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Tests.Kernels;

/// <summary>Every path of the quantized matrix-vector product (each integer engine this machine runs, each float width) against float64 references.</summary>
public class QuantizedMatVecTests
{
    public static TheoryData<GgmlType> Formats() => [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

    /// <summary>Weights drawn from [-1, 1) in the given type, and their dequantized values.</summary>
    internal static (byte[] Weights, float[] Dequantized) RandomMatrix(GgmlType type, int rows, int cols, Random random)
    {
        var values = Enumerable.Range(0, rows * cols).Select(_ => random.NextSingle() * 2 - 1).ToArray();
        int rowBytes = GgmlTypeInfo.Of(type).RowBytes(cols);
        var weights = new byte[rows * rowBytes];
        for (int r = 0; r < rows; r++) GgmlQuantization.Quantize(type, values.AsSpan(r * cols, cols), weights.AsSpan(r * rowBytes, rowBytes));
        var dequantized = new float[rows * cols];
        GgmlQuantization.Dequantize(type, weights, dequantized);
        return (weights, dequantized);
    }

    private static (int Rows, int Cols)[] Shapes(GgmlType type)
    {
        int block = GgmlTypeInfo.Of(type).BlockSize;
        return [(1, block), (7, 3 * block), (13, 2 * block), (3, block == 32 ? 9 * block : block)];
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Integer_path_on_every_engine_matches_the_float64_product_of_the_dequantized_operands(GgmlType type)
    {
        var random = new Random(Random.Shared.Next());
        var engines = Enum.GetValues<Int8Isa>().Where(QuantizedMatVec.IsSupported).ToArray();
        Assert.Contains(Int8Isa.Portable, engines);
        foreach (var (rows, cols) in Shapes(type))
        {
            var (weights, w) = RandomMatrix(type, rows, cols, random);
            var x = Enumerable.Range(0, cols).Select(_ => random.NextSingle() * 4 - 2).ToArray();
            var quantized = new byte[QuantizedMatVec.ActivationBytes(type, cols)];
            QuantizedMatVec.QuantizeActivation(type, x, quantized);
            var xq = new float[cols];
            GgmlQuantization.Dequantize(QuantizedMatVec.ActivationType(type), quantized, xq);
            foreach (var isa in engines)
                foreach (var (threads, prefetch) in new[] { (1, 0), (2, 0), (2, QuantizedMatVec.DefaultPrefetchDistance) })
                {
                    var y = Enumerable.Repeat(float.NaN, rows).ToArray();
                    QuantizedMatVec.MultiplyInt8(type, weights, rows, cols, quantized, y, isa, threads, prefetch);
                    for (int r = 0; r < rows; r++)
                    {
                        double exact = 0, magnitude = 0, unquantized = 0, activationBound = 0;
                        for (int c = 0; c < cols; c++)
                        {
                            double wc = w[r * cols + c];
                            exact += wc * xq[c];
                            magnitude += Math.Abs(wc * xq[c]);
                            unquantized += wc * x[c];
                            activationBound += Math.Abs(wc) * Math.Abs(x[c] - xq[c]);
                        }
                        // Integer sums are exact; only the float scale products and accumulation round (a few ulps of the magnitude).
                        Assert.True(Math.Abs(y[r] - exact) <= 1e-5 * magnitude + 1e-6, $"{type} {isa} t{threads} [{rows}x{cols}] row {r}: {y[r]} vs {exact}");
                        Assert.True(Math.Abs(y[r] - unquantized) <= activationBound + 1e-5 * magnitude + 1e-6, $"{type} {isa}: beyond the activation-quantization bound");
                    }
                }
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Float_path_at_every_width_matches_the_float64_product_of_the_dequantized_weights(GgmlType type)
    {
        var random = new Random(Random.Shared.Next());
        foreach (var (rows, cols) in Shapes(type))
        {
            var (weights, w) = RandomMatrix(type, rows, cols, random);
            var x = Enumerable.Range(0, cols).Select(_ => random.NextSingle() * 2 - 1).ToArray();
            foreach (int width in new[] { 128, 256, 512 })
                foreach (int threads in new[] { 1, 2 })
                {
                    var y = Enumerable.Repeat(float.NaN, rows).ToArray();
                    QuantizedMatVec.Multiply(type, weights, rows, cols, x, y, [], new KernelVariant(KernelVariant.DequantizedFloat, width, Threads: threads));
                    for (int r = 0; r < rows; r++)
                    {
                        double exact = 0, magnitude = 0;
                        for (int c = 0; c < cols; c++)
                        {
                            exact += (double)w[r * cols + c] * x[c];
                            magnitude += Math.Abs((double)w[r * cols + c] * x[c]);
                        }
                        Assert.True(Math.Abs(y[r] - exact) <= 1e-5 * magnitude + 1e-6, $"{type} w{width} t{threads} [{rows}x{cols}] row {r}: {y[r]} vs {exact}");
                    }
                }
        }
    }

    [Fact]
    public void Public_multiply_quantizes_into_scratch_and_agrees_with_the_prequantized_call()
    {
        var random = new Random(Random.Shared.Next());
        const int rows = 9, cols = 512;
        var (weights, _) = RandomMatrix(GgmlType.Q4_K, rows, cols, random);
        var x = Enumerable.Range(0, cols).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var scratch = new byte[QuantizedMatVec.ActivationBytes(GgmlType.Q4_K, cols) + 7];
        var y = new float[rows];
        QuantizedMatVec.Multiply(GgmlType.Q4_K, weights, rows, cols, x, y, scratch);
        var quantized = new byte[QuantizedMatVec.ActivationBytes(GgmlType.Q4_K, cols)];
        QuantizedMatVec.QuantizeActivation(GgmlType.Q4_K, x, quantized);
        var again = new float[rows];
        QuantizedMatVec.MultiplyQuantized(GgmlType.Q4_K, weights, rows, cols, quantized, again);
        Assert.Equal(again, y);
        Assert.Equal(2 * 292, quantized.Length);
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, false)]
    [InlineData(GgmlType.Q6_K, true)]
    public void Spec_accepts_its_roslyn_compiled_naive_source(GgmlType type, bool floatPath)
    {
        var spec = KernelSpecs.Find(KernelNames.QuantizedMatVec(type, floatPath));
        var candidate = RoslynKernelCompiler.Compile(spec, spec.NaiveSource, "naive.cs");
        Assert.Null(candidate.CompileError);
        var verdict = KernelVerifier.Verify(spec, candidate, Random.Shared.Next());
        Assert.True(verdict.Passed, verdict.Feedback);
    }

    [Fact]
    public void Spec_names_and_default_variants_follow_the_path()
    {
        Assert.Equal("matvec_q4_k", KernelNames.QuantizedMatVec(GgmlType.Q4_K, floatPath: false));
        Assert.Equal("matvec_q8_0_f32", KernelNames.QuantizedMatVec(GgmlType.Q8_0, floatPath: true));
        Assert.Equal(KernelVariant.Int8Dot, KernelNames.DefaultVariant("matvec_q6_k").Algorithm);
        Assert.Equal(KernelVariant.DequantizedFloat, KernelNames.DefaultVariant("matvec_q6_k_f32").Algorithm);
        Assert.Equal(10, KernelSpecs.All.Count(s => s is QuantizedMatVecSpec));
    }

    [Fact]
    public void Bad_arguments_throw_argument_exceptions()
    {
        const int rows = 4, cols = 64;
        var weights = new byte[rows * 2 * 34];
        var x = new float[cols];
        var y = new float[rows];
        var scratch = new byte[QuantizedMatVec.ActivationBytes(GgmlType.Q8_0, cols)];
        Assert.Throws<ArgumentException>(() => QuantizedMatVec.Multiply(GgmlType.Q8_0, weights.AsSpan(1), rows, cols, x, y, scratch));
        Assert.Throws<ArgumentException>(() => QuantizedMatVec.Multiply(GgmlType.Q8_0, weights, rows, cols, new float[cols - 1], y, scratch));
        Assert.Throws<ArgumentException>(() => QuantizedMatVec.Multiply(GgmlType.Q8_0, weights, rows, cols, x, new float[rows + 1], scratch));
        Assert.Throws<ArgumentException>(() => QuantizedMatVec.Multiply(GgmlType.Q8_0, weights, rows, cols, x, y, scratch.AsSpan(1)));
        Assert.Throws<ArgumentException>(() => QuantizedMatVec.Multiply(GgmlType.Q8_0, weights, rows, 48, new float[48], y, scratch));
        Assert.Throws<ArgumentException>(() => QuantizedMatVec.Multiply(GgmlType.Q4_1, weights, rows, cols, x, y, scratch));
        Assert.Throws<ArgumentException>(() => QuantizedMatVec.MultiplyQuantized(GgmlType.Q8_0, weights, rows, cols, scratch.AsSpan(2), y));
        Assert.Throws<ArgumentException>(() => QuantizedMatVec.ActivationType(GgmlType.F16));
        Assert.ThrowsAny<ArgumentException>(() => QuantizedMatVec.Multiply(GgmlType.Q8_0, weights, 0, cols, x, [], scratch));
        Assert.Throws<ArgumentException>(() => QuantizedMatVec.Multiply(GgmlType.Q8_0, weights, rows, cols, x, y, [], new KernelVariant(KernelVariant.DequantizedFloat, 256, Threads: 2) with { Algorithm = KernelVariant.Int8Dot }));
    }
}
