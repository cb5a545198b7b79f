using System.Runtime.Intrinsics;
using TimeBill.Kernels;
using TimeBill.Kernels.Quantized;
using TimeBill.Kernels.Search;
using TimeBill.Kernels.Specs;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Tests.Kernels;

/// <summary>The float16 widening and matrix-vector product against .NET's <see cref="Half"/> conversion and float64 references.</summary>
public class Float16MatVecTests
{
    private static readonly ushort[] AllBits = [.. Enumerable.Range(0, 65536).Select(i => (ushort)i)];

    private static void AssertWidened(ushort bits, float widened, string where)
    {
        float expected = (float)BitConverter.UInt16BitsToHalf(bits);
        if (float.IsNaN(expected)) Assert.True(float.IsNaN(widened), $"{where}: 0x{bits:X4} gave {widened}, not NaN");
        else Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(widened), $"{where}: 0x{bits:X4} gave {widened}, expected {expected}");
    }

    [Fact]
    public void Widening_at_every_width_is_exact_for_every_bit_pattern()
    {
        var lanes = new float[16];
        for (int i = 0; i < AllBits.Length; i += 16)
        {
            var bits = Vector512.Create(AllBits.AsSpan(i, 16).ToArray().Select(b => (int)(short)b).ToArray()); // sign-extended, as loaded
            HalfWidening.Widen(bits).CopyTo(lanes);
            for (int j = 0; j < 16; j++) AssertWidened(AllBits[i + j], lanes[j], "w512");
            HalfWidening.Widen(bits.GetLower()).CopyTo(lanes);
            HalfWidening.Widen(bits.GetUpper()).CopyTo(lanes, 8);
            for (int j = 0; j < 16; j++) AssertWidened(AllBits[i + j], lanes[j], "w256");
            HalfWidening.Widen(bits.GetLower().GetLower()).CopyTo(lanes);
            HalfWidening.Widen(bits.GetLower().GetUpper()).CopyTo(lanes, 4);
            for (int j = 0; j < 8; j++) AssertWidened(AllBits[i + j], lanes[j], "w128");
        }
    }

    [Fact]
    public void A_single_value_widens_exactly_for_every_bit_pattern()
    {
        foreach (ushort bits in AllBits) AssertWidened(bits, HalfBits.ToSingle(bits), "scalar");
        var bytes = new byte[2 * AllBits.Length];
        Buffer.BlockCopy(AllBits, 0, bytes, 0, bytes.Length);
        for (int i = 0; i < AllBits.Length; i++) AssertWidened(AllBits[i], HalfBits.Read(bytes.AsSpan(2 * i)), "read");
    }

    [Theory]
    [InlineData(0, 65536)]
    [InlineData(3, 17)]
    [InlineData(1, 65535)]
    public void Dequantize_widens_spans_of_any_length_and_offset_exactly(int start, int count)
    {
        var bytes = new byte[2 * AllBits.Length + 1];
        Buffer.BlockCopy(AllBits, 0, bytes, 1, 2 * AllBits.Length); // odd address: unaligned loads
        var values = new float[count];
        GgmlQuantization.Dequantize(GgmlType.F16, bytes.AsSpan(1 + 2 * start, 2 * count), values);
        for (int i = 0; i < count; i++) AssertWidened(AllBits[start + i], values[i], $"[{i}]");
    }

    /// <summary>Values from 2^-24 (the smallest subnormal) to 2^15, both signs and zeros, rounded to float16.</summary>
    private static ushort[] MixedMagnitudes(int count, Random random) =>
    [
        .. Enumerable.Range(0, count).Select(i => i % 11 == 0 ? (ushort)(i % 2 == 0 ? 0 : 0x8000)
            : BitConverter.HalfToUInt16Bits((Half)((random.Next(2) * 2 - 1) * Math.Pow(2, random.NextDouble() * 39 - 24)))),
    ];

    [Fact]
    public void Matvec_at_every_width_and_variant_matches_the_float64_product_of_the_widened_weights()
    {
        var random = new Random(Random.Shared.Next());
        foreach (var (rows, cols) in new[] { (1, 1), (3, 7), (5, 17), (4, 33), (9, 100), (6, 577) })
        {
            var w = MixedMagnitudes(rows * cols, random);
            var x = Enumerable.Range(0, cols).Select(_ => random.NextSingle() * 2 - 1).ToArray();
            foreach (int width in new[] { 128, 256, 512 })
                foreach (int rowsPerIteration in new[] { 1, 4 })
                    foreach (int threads in new[] { 1, 2 })
                    {
                        var y = Enumerable.Repeat(float.NaN, rows).ToArray();
                        MatVec.Float16(w, rows, cols, x, y, new KernelVariant(KernelVariant.Lanes, width, rowsPerIteration, 2, threads, SpreadRows: true, PrefetchDistance: 256));
                        for (int r = 0; r < rows; r++)
                        {
                            double exact = 0, magnitude = 0;
                            for (int c = 0; c < cols; c++)
                            {
                                double product = (double)(float)BitConverter.UInt16BitsToHalf(w[r * cols + c]) * x[c];
                                exact += product;
                                magnitude += Math.Abs(product);
                            }
                            // float32 accumulation: about one rounding of the magnitude per column at worst.
                            Assert.True(Math.Abs(y[r] - exact) <= Math.Max(1e-6, 1.2e-7 * cols) * magnitude, $"w{width} r{rowsPerIteration} t{threads} [{rows}x{cols}] row {r}: {y[r]} vs {exact}");
                        }
                    }
        }
    }

    [Fact]
    public void Infinite_and_nan_weights_propagate()
    {
        const int cols = 40;
        var w = new ushort[2 * cols];
        w[cols - 1] = 0x7C00; // +inf in row 0's scalar tail at every width
        w[cols + 3] = 0x7E01; // NaN in row 1's vector part
        var x = Enumerable.Repeat(1f, cols).ToArray();
        foreach (int width in new[] { 128, 256, 512 })
        {
            var y = new float[2];
            MatVec.Float16(w, 2, cols, x, y, new KernelVariant(KernelVariant.Lanes, width));
            Assert.Equal(float.PositiveInfinity, y[0]);
            Assert.True(float.IsNaN(y[1]));
        }
    }

    [Fact]
    public void Spec_accepts_its_roslyn_compiled_naive_source_and_has_its_name()
    {
        var spec = KernelSpecs.Find(KernelNames.MatVecFloat16);
        Assert.Equal("matvec_f16", spec.Name);
        Assert.Equal(MatVec.DefaultVariant, KernelNames.DefaultVariant(KernelNames.MatVecFloat16));
        var candidate = RoslynKernelCompiler.Compile(spec, spec.NaiveSource, "naive.cs");
        Assert.Null(candidate.CompileError);
        var verdict = KernelVerifier.Verify(spec, candidate, Random.Shared.Next());
        Assert.True(verdict.Passed, verdict.Feedback);
    }

    [Fact]
    public void Bad_shapes_throw_argument_exceptions()
    {
        var w = new ushort[12];
        Assert.Throws<ArgumentException>(() => MatVec.Float16(w, 3, 5, new float[5], new float[3]));
        Assert.Throws<ArgumentException>(() => MatVec.Float16(w, 3, 4, new float[5], new float[3]));
        Assert.Throws<ArgumentException>(() => MatVec.Float16(w, 3, 4, new float[4], new float[2]));
    }
}
