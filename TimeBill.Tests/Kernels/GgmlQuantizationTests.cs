using System.Buffers.Binary;
using TimeBill.Kernels;
using TimeBill.Kernels.Quantized;

namespace TimeBill.Tests.Kernels;

/// <summary>ggml block layouts (hand-built bytes → known values), round-trip error bounds and the type table.</summary>
public class GgmlQuantizationTests
{
    private static ushort Half(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    private static float[] RandomRow(Random random, int count, float scale = 1f) =>
        [.. Enumerable.Range(0, count).Select(_ => (random.NextSingle() * 2 - 1) * scale)];

    [Fact]
    public void Type_table_has_ggml_ids_and_block_sizes()
    {
        Assert.Equal((0, 1, 2, 8, 12, 13, 14, 15, 30), ((int)GgmlType.F32, (int)GgmlType.F16, (int)GgmlType.Q4_0, (int)GgmlType.Q8_0,
            (int)GgmlType.Q4_K, (int)GgmlType.Q5_K, (int)GgmlType.Q6_K, (int)GgmlType.Q8_K, (int)GgmlType.BF16));
        var expected = new (GgmlType Type, int Block, int Bytes)[]
        {
            (GgmlType.F32, 1, 4), (GgmlType.F16, 1, 2), (GgmlType.BF16, 1, 2), (GgmlType.Q8_0, 32, 34), (GgmlType.Q4_0, 32, 18),
            (GgmlType.Q4_K, 256, 144), (GgmlType.Q5_K, 256, 176), (GgmlType.Q6_K, 256, 210), (GgmlType.Q8_K, 256, 292),
            (GgmlType.Q2_K, 256, 84), (GgmlType.Q3_K, 256, 110), (GgmlType.IQ4_XS, 256, 136), (GgmlType.MXFP4, 32, 17),
        };
        foreach (var (type, block, bytes) in expected)
        {
            var info = GgmlTypeInfo.Of(type);
            Assert.Equal((block, bytes), (info.BlockSize, info.BlockBytes));
        }
        Assert.All(Enum.GetValues<GgmlType>(), t => Assert.Equal(t, GgmlTypeInfo.Of(t).Type));
        Assert.Equal("q4_K", GgmlTypeInfo.Of(GgmlType.Q4_K).Name);
        Assert.Equal(1536 / 256 * 144, GgmlTypeInfo.Of(GgmlType.Q4_K).RowBytes(1536));
        var error = Assert.Throws<ArgumentException>(() => GgmlTypeInfo.Of(GgmlType.Q4_K).RowBytes(576));
        Assert.Contains("256", error.Message);
        Assert.Throws<ArgumentException>(() => GgmlTypeInfo.Of(GgmlType.Q8_0).RowBytes(-32));
        Assert.Throws<OverflowException>(() => GgmlTypeInfo.Of(GgmlType.Q8_0).RowBytes(int.MaxValue - 31));
        Assert.Throws<ArgumentException>(() => GgmlTypeInfo.Of((GgmlType)4));
    }

    [Fact]
    public void Q8_0_block_decodes_d_times_q()
    {
        var block = new byte[34];
        BinaryPrimitives.WriteUInt16LittleEndian(block, Half(0.5f));
        for (int j = 0; j < 32; j++) block[2 + j] = (byte)(sbyte)(j * 8 - 128);
        var y = new float[32];
        GgmlQuantization.Dequantize(GgmlType.Q8_0, block, y);
        for (int j = 0; j < 32; j++) Assert.Equal(0.5f * (j * 8 - 128), y[j]);
    }

    [Fact]
    public void Q4_0_block_puts_element_j_in_low_and_j_plus_16_in_high_nibble()
    {
        var block = new byte[18];
        BinaryPrimitives.WriteUInt16LittleEndian(block, Half(0.25f));
        for (int j = 0; j < 16; j++) block[2 + j] = (byte)(j | ((15 - j) << 4));
        var y = new float[32];
        GgmlQuantization.Dequantize(GgmlType.Q4_0, block, y);
        for (int j = 0; j < 16; j++)
        {
            Assert.Equal(0.25f * (j - 8), y[j]);
            Assert.Equal(0.25f * (15 - j - 8), y[j + 16]);
        }
    }

    private static readonly int[] SubScales = [1, 2, 3, 4, 33, 40, 50, 63], SubMins = [5, 6, 7, 8, 17, 20, 35, 60];

    /// <summary>ggml's 12-byte K4 packing, stated per byte: 0–3 low scales + scale bits 4–5 of 4–7, 4–7 low mins + min bits 4–5 of 4–7, 8–11 low nibbles of scale and min 4–7.</summary>
    private static void PackScales(Span<byte> packed)
    {
        for (int j = 0; j < 4; j++)
        {
            packed[j] = (byte)(SubScales[j] | ((SubScales[j + 4] >> 4) << 6));
            packed[j + 4] = (byte)(SubMins[j] | ((SubMins[j + 4] >> 4) << 6));
            packed[j + 8] = (byte)((SubScales[j + 4] & 0xF) | ((SubMins[j + 4] & 0xF) << 4));
        }
    }

    /// <summary>Element e of a Q4_K/Q5_K super-block: 64-element group e/64, low nibble of qs byte e%32 of that group for the first 32, high nibble for the next.</summary>
    private static int KLevel(int e) => (e * 7 + e / 32) % 32;

    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    public void K4_block_has_distinct_sub_block_scales_mins_and_visible_nibble_order(GgmlType type)
    {
        bool five = type == GgmlType.Q5_K;
        var block = new byte[five ? 176 : 144];
        BinaryPrimitives.WriteUInt16LittleEndian(block, Half(0.5f));
        BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(2), Half(0.125f));
        PackScales(block.AsSpan(4, 12));
        int qs = five ? 48 : 16;
        for (int e = 0; e < 256; e++)
        {
            int level = five ? KLevel(e) : KLevel(e) & 0xF, group = e / 64, r = e % 64;
            int index = qs + 32 * group + r % 32;
            block[index] |= (byte)((level & 0xF) << (r >= 32 ? 4 : 0));
            if (five && level >= 16) block[16 + r % 32] |= (byte)(1 << (e / 32)); // qh bit = sub-block index
        }
        var y = new float[256];
        GgmlQuantization.Dequantize(type, block, y);
        for (int e = 0; e < 256; e++)
        {
            int level = five ? KLevel(e) : KLevel(e) & 0xF, sub = e / 32;
            Assert.Equal(0.5f * SubScales[sub] * level - 0.125f * SubMins[sub], y[e]);
        }
    }

    [Fact]
    public void Q6_K_block_interleaves_four_quarters_and_keeps_d_last()
    {
        var block = new byte[210];
        var levels = Enumerable.Range(0, 256).Select(e => (e * 13 + e / 16) % 64).ToArray();
        var scales = Enumerable.Range(0, 16).Select(g => g % 2 == 0 ? g - 8 : 3 * g).ToArray();
        for (int e = 0; e < 256; e++)
        {
            int half = e / 128, quarter = e % 128 / 32, l = e % 32;
            int ql = 64 * half + l + (quarter % 2 == 1 ? 32 : 0);
            block[ql] |= (byte)((levels[e] & 0xF) << (quarter >= 2 ? 4 : 0));
            block[128 + 32 * half + l] |= (byte)((levels[e] >> 4) << (2 * quarter));
        }
        for (int g = 0; g < 16; g++) block[192 + g] = (byte)(sbyte)scales[g];
        BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(208), Half(0.25f));
        var y = new float[256];
        GgmlQuantization.Dequantize(GgmlType.Q6_K, block, y);
        for (int e = 0; e < 256; e++) Assert.Equal(0.25f * scales[e / 16] * (levels[e] - 32), y[e]);
    }

    [Fact]
    public void Q8_K_block_has_float_d_first_and_sixteen_bsums_last()
    {
        var x = RandomRow(new Random(Random.Shared.Next()), 256);
        x[100] = -1.5f; // the value of largest magnitude, so d = 1.5/127 with q = −127 there... sign follows ggml: iscale = −127/max
        var block = new byte[292];
        GgmlQuantization.Quantize(GgmlType.Q8_K, x, block);
        float d = BinaryPrimitives.ReadSingleLittleEndian(block);
        Assert.Equal(1 / (-127f / -1.5f), d);
        Assert.Equal(-127, (sbyte)block[4 + 100]);
        for (int g = 0; g < 16; g++)
        {
            int sum = 0;
            for (int i = 0; i < 16; i++) sum += (sbyte)block[4 + 16 * g + i];
            Assert.Equal(sum, BinaryPrimitives.ReadInt16LittleEndian(block.AsSpan(260 + 2 * g)));
        }
        for (int j = 0; j < 256; j++) Assert.True(Math.Abs(x[j] - d * (sbyte)block[4 + j]) <= d / 2 * 1.0001, $"element {j}");
    }

    [Fact]
    public void Q8_0_levels_are_ggml_reference_roundf_of_x_over_d_including_ties_and_non_finite_blocks()
    {
        var random = new Random(Random.Shared.Next());
        var blocks = new List<float[]>();
        for (int b = 0; b < 200; b++) blocks.Add(RandomRow(random, 32, 4f));
        // Exact halves of a step: x = (k + ½)·d with d = amax/127 (amax = 127 so d = 1), where roundf goes away from zero.
        blocks.Add([127f, .. Enumerable.Range(0, 31).Select(k => (k - 15) + (k % 2 == 0 ? 0.5f : -0.5f))]);
        blocks.Add([.. Enumerable.Repeat(0f, 32)]);
        blocks.Add([float.NaN, .. RandomRow(random, 31, 1f)]);
        blocks.Add([float.PositiveInfinity, .. RandomRow(random, 31, 1f)]);
        var block = new byte[34];
        foreach (var x in blocks)
        {
            GgmlQuantization.Quantize(GgmlType.Q8_0, x, block);
            float amax = 0;
            foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
            float d = amax / 127, id = d != 0 ? 1f / d : 0f;
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)d), BinaryPrimitives.ReadUInt16LittleEndian(block));
            for (int j = 0; j < 32; j++)
                Assert.Equal((sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero), (sbyte)block[2 + j]);
        }
    }

    [Fact]
    public void Q8_0_round_trip_error_is_within_half_a_step_plus_the_fp16_scale_rounding()
    {
        var random = new Random(Random.Shared.Next());
        var x = RandomRow(random, 32 * 40, 3f);
        var blocks = new byte[40 * 34];
        GgmlQuantization.Quantize(GgmlType.Q8_0, x, blocks);
        var y = new float[x.Length];
        GgmlQuantization.Dequantize(GgmlType.Q8_0, blocks, y);
        for (int b = 0; b < 40; b++)
        {
            float amax = x.Skip(32 * b).Take(32).Max(MathF.Abs), d = amax / 127;
            float stored = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(blocks.AsSpan(34 * b)));
            Assert.Equal((float)(Half)d, stored);
            double bound = d / 2 + 127 * Math.Abs(d - stored) + 1e-6;
            for (int j = 32 * b; j < 32 * b + 32; j++) Assert.True(Math.Abs(x[j] - y[j]) <= bound, $"element {j}: {x[j]} → {y[j]}, bound {bound}");
        }
    }

    [Fact]
    public void Q4_0_round_trip_error_is_within_one_step_plus_the_fp16_scale_rounding()
    {
        var random = new Random(Random.Shared.Next());
        var x = RandomRow(random, 32 * 40);
        var blocks = new byte[40 * 18];
        GgmlQuantization.Quantize(GgmlType.Q4_0, x, blocks);
        var y = new float[x.Length];
        GgmlQuantization.Dequantize(GgmlType.Q4_0, blocks, y);
        for (int b = 0; b < 40; b++)
        {
            var block = x.Skip(32 * b).Take(32).ToArray();
            float max = block.MaxBy(MathF.Abs), d = max / -8;
            float stored = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(blocks.AsSpan(18 * b)));
            // Half a step inside the grid; the largest positive-side value (x/d = +8) clips to 7, a whole step.
            double bound = Math.Abs(d) + 8 * Math.Abs(d - stored) + 1e-6;
            for (int j = 32 * b; j < 32 * b + 32; j++) Assert.True(Math.Abs(x[j] - y[j]) <= bound, $"element {j}: {x[j]} → {y[j]}");
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_K, 15)]
    [InlineData(GgmlType.Q5_K, 31)]
    public void K4_round_trip_error_is_within_half_a_sub_block_step_unless_clipped(GgmlType type, int nmax)
    {
        var random = new Random(Random.Shared.Next());
        var x = RandomRow(random, 256 * 8);
        x[5] = 40f; // one outlier: its sub-block's scale is large, the others' small
        var info = GgmlTypeInfo.Of(type);
        var blocks = new byte[info.RowBytes(x.Length)];
        GgmlQuantization.Quantize(type, x, blocks);
        var y = new float[x.Length];
        GgmlQuantization.Dequantize(type, blocks, y);
        double squared = 0;
        for (int b = 0; b < 8; b++)
        {
            var block = blocks.AsSpan(b * info.BlockBytes, info.BlockBytes);
            float d = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(block));
            float dmin = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(block[2..]));
            for (int sub = 0; sub < 8; sub++)
            {
                var (sc, m) = KScaleMin(sub, block.Slice(4, 12));
                double step = d * sc, low = -dmin * m, high = low + nmax * step;
                for (int i = 0; i < 32; i++)
                {
                    int e = 256 * b + 32 * sub + i;
                    double clip = Math.Max(0, Math.Max(low - x[e], x[e] - high));
                    Assert.True(Math.Abs(x[e] - y[e]) <= step / 2 + clip + 1e-5, $"element {e}: {x[e]} → {y[e]}, step {step}");
                    if (e / 32 != 0) squared += (x[e] - y[e]) * (x[e] - y[e]);
                }
            }
        }
        // Uniform data on [−1, 1]: a step near 2/nmax and an RMS error near step/√12 ≈ 0.29 step when the search works.
        double rms = Math.Sqrt(squared / (x.Length - 32));
        Assert.True(rms <= 0.35 * 2.0 / nmax, $"RMS error {rms} for nmax {nmax}");
    }

    /// <summary>The test's own reading of the 12-byte scale/min packing (see <see cref="PackScales"/>).</summary>
    private static (int Scale, int Min) KScaleMin(int j, ReadOnlySpan<byte> p) => j < 4
        ? (p[j] & 63, p[j + 4] & 63)
        : ((p[j + 4] & 0xF) | ((p[j - 4] >> 6) << 4), (p[j + 4] >> 4) | ((p[j] >> 6) << 4));

    [Fact]
    public void Q6_K_round_trip_error_is_within_half_a_sub_block_step_unless_clipped()
    {
        var random = new Random(Random.Shared.Next());
        var x = RandomRow(random, 256 * 8, 2f);
        var blocks = new byte[8 * 210];
        GgmlQuantization.Quantize(GgmlType.Q6_K, x, blocks);
        var y = new float[x.Length];
        GgmlQuantization.Dequantize(GgmlType.Q6_K, blocks, y);
        double squared = 0;
        for (int b = 0; b < 8; b++)
        {
            float d = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(blocks.AsSpan(210 * b + 208)));
            for (int e = 256 * b; e < 256 * b + 256; e++)
            {
                double step = Math.Abs(d * (sbyte)blocks[210 * b + 192 + e % 256 / 16]);
                double clip = Math.Max(0, Math.Abs(x[e]) - 31.5 * step);
                Assert.True(Math.Abs(x[e] - y[e]) <= step / 2 + clip + 1e-5, $"element {e}: {x[e]} → {y[e]}");
                squared += (x[e] - y[e]) * (x[e] - y[e]);
            }
        }
        Assert.True(Math.Sqrt(squared / x.Length) <= 0.35 * 4.0 / 63, "RMS error above a third of a 6-bit step");
    }

    [Fact]
    public void Values_on_the_grid_round_trip_exactly()
    {
        var random = new Random(Random.Shared.Next());
        var q8 = Enumerable.Range(0, 64).Select(_ => random.Next(-127, 128)).ToArray();
        q8[3] = 127;
        q8[40] = -127;
        var x8 = q8.Select(q => q * 0.0625f).ToArray();
        Assert.Equal(x8, RoundTrip(GgmlType.Q8_0, x8));

        var q4 = Enumerable.Range(0, 64).Select(_ => random.Next(0, 16)).ToArray();
        q4[7] = 0;
        q4[33] = 0; // −8·d in each block pins d
        var x4 = q4.Select(q => (q - 8) * 0.125f).ToArray();
        Assert.Equal(x4, RoundTrip(GgmlType.Q4_0, x4));

        var halves = Enumerable.Range(0, 64).Select(_ => (float)(Half)(random.NextSingle() * 100 - 50)).ToArray();
        Assert.Equal(halves, RoundTrip(GgmlType.F16, halves));
        var bf16 = Enumerable.Range(0, 64).Select(_ => BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(random.NextSingle() * 100 - 50))).ToArray();
        Assert.Equal(bf16, RoundTrip(GgmlType.BF16, bf16));
        var f32 = RandomRow(random, 64, 1e6f);
        Assert.Equal(f32, RoundTrip(GgmlType.F32, f32));

        var q6 = Enumerable.Range(0, 256).Select(e => random.Next(-31, 32)).ToArray();
        for (int g = 0; g < 16; g++) q6[16 * g] = -32; // every sub-block spans the full grid
        var x6 = q6.Select(q => q * 0.5f).ToArray();
        Assert.Equal(x6, RoundTrip(GgmlType.Q6_K, x6));
    }

    private static float[] RoundTrip(GgmlType type, float[] x)
    {
        var bytes = new byte[GgmlTypeInfo.Of(type).RowBytes(x.Length)];
        GgmlQuantization.Quantize(type, x, bytes);
        var y = new float[x.Length];
        GgmlQuantization.Dequantize(type, bytes, y);
        return y;
    }

    [Fact]
    public void Dequantize_rows_decodes_a_row_range()
    {
        var random = new Random(Random.Shared.Next());
        const int rows = 5, cols = 512;
        var x = RandomRow(random, rows * cols);
        int rowBytes = GgmlTypeInfo.Of(GgmlType.Q5_K).RowBytes(cols);
        var matrix = new byte[rows * rowBytes];
        for (int r = 0; r < rows; r++) GgmlQuantization.Quantize(GgmlType.Q5_K, x.AsSpan(r * cols, cols), matrix.AsSpan(r * rowBytes, rowBytes));
        var all = new float[rows * cols];
        GgmlQuantization.Dequantize(GgmlType.Q5_K, matrix, all);
        var part = new float[2 * cols];
        GgmlQuantization.DequantizeRows(GgmlType.Q5_K, matrix, cols, 2, 2, part);
        Assert.Equal(all.AsSpan(2 * cols, 2 * cols).ToArray(), part);
        Assert.Throws<ArgumentException>(() => GgmlQuantization.DequantizeRows(GgmlType.Q5_K, matrix, cols, 4, 2, part));
        Assert.Throws<ArgumentException>(() => GgmlQuantization.DequantizeRows(GgmlType.Q5_K, matrix, cols, 0, 1, part));
        Assert.Throws<ArgumentException>(() => GgmlQuantization.DequantizeRows(GgmlType.Q5_K, matrix, 300, 0, 1, new float[300]));
    }

    [Fact]
    public void Bad_arguments_throw_argument_exceptions()
    {
        Assert.Throws<ArgumentException>(() => GgmlQuantization.Quantize(GgmlType.Q4_1, new float[32], new byte[20]));
        Assert.Throws<ArgumentException>(() => GgmlQuantization.Quantize(GgmlType.Q8_0, new float[33], new byte[34]));
        Assert.Throws<ArgumentException>(() => GgmlQuantization.Quantize(GgmlType.Q8_0, new float[32], new byte[33]));
        Assert.Throws<ArgumentException>(() => GgmlQuantization.Dequantize(GgmlType.Q6_K, new byte[209], new float[256]));
        Assert.Throws<ArgumentException>(() => GgmlQuantization.Dequantize(GgmlType.IQ2_XXS, new byte[66], new float[256]));
    }

    [Theory]
    [InlineData(0, 65536)]
    [InlineData(5, 47)]
    public void Bfloat16_dequantizes_every_bit_pattern_exactly_at_any_length_and_offset(int start, int count)
    {
        var bits = Enumerable.Range(0, 65536).Select(i => (ushort)i).ToArray();
        var bytes = new byte[2 * bits.Length + 1];
        Buffer.BlockCopy(bits, 0, bytes, 1, 2 * bits.Length); // odd address: unaligned loads
        var values = new float[count];
        GgmlQuantization.Dequantize(GgmlType.BF16, bytes.AsSpan(1 + 2 * start, 2 * count), values);
        for (int i = 0; i < count; i++)
            Assert.Equal(BitConverter.SingleToUInt32Bits(BFloat16Bits.ToSingle(bits[start + i])), BitConverter.SingleToUInt32Bits(values[i]));
    }
}
