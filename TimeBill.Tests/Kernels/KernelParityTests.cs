using TimeBill.Kernels;
using TimeBill.Kernels.Search;
using TimeBill.Kernels.Specs;

namespace TimeBill.Tests.Kernels;

/// <summary>Every built-in variant of every kernel against the float64 reference on the edge shapes.</summary>
public class KernelParityTests
{
    public static TheoryData<string, string> Variants()
    {
        var data = new TheoryData<string, string>();
        foreach (var spec in KernelSpecs.All)
            foreach (var variant in spec.FeatureSpace().Append(spec.DefaultVariant).Distinct())
                data.Add(spec.Name, variant.ToString());
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Built_in_variant_matches_the_reference(string kernel, string variant)
    {
        var spec = KernelSpecs.Find(kernel);
        var candidate = spec.FeatureSpace().Append(spec.DefaultVariant).First(v => v.ToString() == variant);
        for (int trial = 0; trial < 3; trial++)
        {
            var verdict = KernelVerifier.Verify(spec, spec.Build(candidate), Random.Shared.Next());
            Assert.True(verdict.Passed, verdict.Feedback);
        }
    }

    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    public void SwiGlu_keeps_NaN_and_saturates_far_tails_at_every_width(int width)
    {
        float[] gate = [float.NaN, -200f, 200f, 0f, -1e30f, 1e30f, -88.5f, 88.5f, -3f, 3f, 0.5f, -0.5f, 20f, -20f, 87f, -87f, 1e-3f];
        float[] up = [.. gate.Select((_, i) => 0.25f + i / 16f)];
        var output = new float[gate.Length];
        SwiGlu.Apply(gate, up, output, new KernelVariant(KernelVariant.Lanes, width));
        Assert.True(float.IsNaN(output[0]));
        for (int i = 1; i < gate.Length; i++)
        {
            double g = gate[i], expected = g < -700 ? 0 : g / (1 + Math.Exp(-g)) * up[i];
            Assert.True(Math.Abs(output[i] - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected)), $"silu({g})·{up[i]}: {output[i]}, expected {expected}");
        }
    }

    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    public void Matvec_is_correct_at_every_width_even_unaccelerated(int width)
    {
        foreach (var spec in new KernelSpec[] { new MatVecFloat32Spec(), new MatVecBFloat16Spec(), new MatVecFloat16Spec() })
            foreach (int rows in new[] { 1, 2, 4 })
            {
                var verdict = KernelVerifier.Verify(spec, spec.Build(new KernelVariant(KernelVariant.Lanes, width, rows, 2, 2)), Random.Shared.Next());
                Assert.True(verdict.Passed, verdict.Feedback);
            }
    }

    [Fact]
    public void Bfloat16_matvec_stays_within_bfloat16_rounding_of_the_float32_product()
    {
        var random = new Random(5);
        const int rows = 37, cols = 577;
        var w = Enumerable.Range(0, rows * cols).Select(_ => random.NextSingle() * 2 - 1).ToArray();
        var x = Enumerable.Range(0, cols).Select(_ => random.NextSingle() * 2 - 1).ToArray();
        var bits = new ushort[w.Length];
        BFloat16Bits.FromSingle(w, bits);
        var y = new float[rows];
        MatVec.BFloat16(bits, rows, cols, x, y);
        for (int r = 0; r < rows; r++)
        {
            double exact = 0, magnitude = 0;
            for (int c = 0; c < cols; c++)
            {
                exact += (double)w[r * cols + c] * x[c];
                magnitude += Math.Abs((double)w[r * cols + c] * x[c]);
            }
            // Each weight is rounded by at most half a bfloat16 ulp: 2^-9 relative.
            Assert.InRange(Math.Abs(y[r] - exact), 0, magnitude * Math.Pow(2, -9) + 1e-4);
        }
    }

    [Fact]
    public void Bfloat16_rounds_to_nearest_even_and_widens_exactly()
    {
        Assert.Equal(1f, BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(1f)));
        Assert.Equal(0x3F80, BFloat16Bits.FromSingle(BitConverter.UInt32BitsToSingle(0x3F80_8000))); // tie → even
        Assert.Equal(0x3F82, BFloat16Bits.FromSingle(BitConverter.UInt32BitsToSingle(0x3F81_8000))); // tie → even (up)
        Assert.True(float.IsNaN(BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(float.NaN))));
    }

    [Fact]
    public void Kernels_work_in_place()
    {
        var x = new float[] { 1, -2, 3, -4, 5, -6, 7, -8, 9, -10 };
        var expected = new float[x.Length];
        var weight = Enumerable.Repeat(0.5f, x.Length).ToArray();
        RmsNorm.Apply(x, weight, 1e-5f, expected);
        var inPlace = (float[])x.Clone();
        RmsNorm.Apply(inPlace, weight, 1e-5f, inPlace);
        Assert.Equal(expected, inPlace);

        var up = Enumerable.Range(0, x.Length).Select(i => 0.1f * i).ToArray();
        SwiGlu.Apply(x, up, expected, new KernelVariant(KernelVariant.TensorPrimitives));
        var gate = (float[])x.Clone();
        SwiGlu.Apply(gate, up, gate, new KernelVariant(KernelVariant.TensorPrimitives));
        Assert.Equal(expected, gate);
    }

    [Fact]
    public void Wrong_shapes_name_the_bad_argument()
    {
        var w = new float[6];
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => MatVec.Float32(w, 2, 3, new float[2], new float[2])).ParamName);
        Assert.Equal("y", Assert.Throws<ArgumentException>(() => MatVec.Float32(w, 2, 3, new float[3], new float[3])).ParamName);
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => MatVec.Float32(w, 3, 3, new float[3], new float[3])).ParamName);
        Assert.Equal("headDim", Assert.Throws<ArgumentException>(() => Rotary.Apply(new float[7], 1, 7, new float[3], new float[3], 0, new float[7])).ParamName);
        Assert.Equal("kvHeads", Assert.Throws<ArgumentException>(() =>
            DecodeAttention.Apply(new float[6], new float[8], new float[8], 3, 2, 2, 2, 2, new float[6])).ParamName);
        Assert.Equal("length", Assert.Throws<ArgumentOutOfRangeException>(() =>
            DecodeAttention.Apply(new float[4], new float[8], new float[8], 2, 2, 2, 2, 3, new float[4])).ParamName);
    }
}
