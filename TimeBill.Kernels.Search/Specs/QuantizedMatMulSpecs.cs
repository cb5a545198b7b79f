using TimeBill.Kernels.Quantized;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Specs;

/// <summary>
/// Y [Tokens, Rows] = X [Tokens, Cols] · Wᵀ with W [Rows, Cols] in a ggml block format: the prefill product. Shape
/// dimensions: rows, cols, tokens. The reference is the float64 product of the dequantized W with the float X.
/// </summary>
public sealed class QuantizedMatMulCase : KernelCase
{
    /// <summary>The weights' ggml type.</summary>
    public GgmlType Type { get; }
    /// <summary>W as ggml blocks, rows one after the other.</summary>
    public byte[] Weights { get; }
    /// <summary>X [Tokens, Cols], row-major.</summary>
    public float[] X { get; }
    /// <summary>Y [Tokens, Rows], row-major: the output.</summary>
    public float[] Y { get; }
    /// <summary>Rows of W.</summary>
    public int Rows => Shape[0];
    /// <summary>Columns of W.</summary>
    public int Cols => Shape[1];
    /// <summary>Rows of X.</summary>
    public int Tokens => Shape[2];

    private readonly float[] _dequantized;

    internal QuantizedMatMulCase(GgmlType type, KernelShape shape, int seed) : base(shape)
    {
        Type = type;
        var random = new Random(seed);
        (Weights, _dequantized) = QuantizedWeights.Random(type, Rows, Cols, random, RandomFloats);
        X = RandomFloats(random, (long)Tokens * Cols);
        Y = new float[Tokens * Rows];
    }

    /// <inheritdoc />
    public override long Bytes => Weights.LongLength + 4L * (X.Length + Y.Length);
    /// <inheritdoc />
    public override void Poison() => Array.Fill(Y, float.NaN);
    /// <inheritdoc />
    public override double[] Result() => ToDoubles(Y);

    /// <inheritdoc />
    public override double[] Reference()
    {
        var y = new double[Tokens * Rows];
        for (int t = 0; t < Tokens; t++)
            for (int r = 0; r < Rows; r++)
            {
                double sum = 0;
                for (int c = 0; c < Cols; c++) sum += (double)_dequantized[(long)r * Cols + c] * X[(long)t * Cols + c];
                y[t * Rows + r] = sum;
            }
        return y;
    }
}

/// <summary>Spec of <see cref="QuantizedMatMul"/> for one weight format.</summary>
public sealed class QuantizedMatMulSpec : KernelSpec<QuantizedMatMulCase>
{
    private readonly GgmlTypeInfo _info;

    /// <summary>A spec for <paramref name="type"/> weights.</summary>
    public QuantizedMatMulSpec(GgmlType type)
    {
        _info = GgmlTypeInfo.Of(type);
        int block = _info.BlockSize;
        // One token and three (below a tile: token by token), a tile, tiles plus a tail; rows not a multiple of 8.
        VerificationShapes = block == 32
            ? [Shape(1, 32, 1), Shape(3, 64, 3), Shape(8, 96, 4), Shape(13, 288, 9), Shape(66, 160, 6)]
            : [Shape(1, 256, 1), Shape(7, 512, 3), Shape(13, 256, 9), Shape(66, 512, 5)];
        ProfileShapes = block == 32 ? [Shape(3072, 576, 256)] : [Shape(576, 1536, 256)];
    }

    /// <summary>One spec per format, where this machine runs the product (AVX-VNNI); none elsewhere.</summary>
    public static IReadOnlyList<QuantizedMatMulSpec> All { get; } =
    [
        .. QuantizedMatVec.Formats.Where(QuantizedMatMul.IsSupported).Select(t => new QuantizedMatMulSpec(t)),
    ];

    /// <inheritdoc />
    public override string Name => KernelNames.QuantizedMatMul(_info.Type);

    /// <inheritdoc />
    public override string Task =>
        $"Matrix product Y = X Wᵀ of c.Tokens float32 rows X against W in ggml's {_info.Name} block format ({_info.BlockSize} elements in " +
        $"{_info.BlockBytes} bytes, rows of whole blocks, laid out as llama.cpp's ggml-common.h): the prefill's projections. X may be " +
        "quantized to Q8_0 blocks as llama.cpp does and multiplied with integer dot products; Y is float32, token-major.";

    /// <inheritdoc />
    public override string NaiveSource => """
        using System;
        using TimeBill.Kernels.Quantized;
        using TimeBill.Kernels.Specs;
        public static class Candidate
        {
            public static void Run(QuantizedMatMulCase c)
            {
                int rowBytes = GgmlTypeInfo.Of(c.Type).RowBytes(c.Cols);
                var row = new float[c.Cols];
                for (int r = 0; r < c.Rows; r++)
                {
                    GgmlQuantization.Dequantize(c.Type, c.Weights.AsSpan(r * rowBytes, rowBytes), row);
                    for (int t = 0; t < c.Tokens; t++)
                    {
                        float sum = 0;
                        for (int k = 0; k < c.Cols; k++) sum += row[k] * c.X[t * c.Cols + k];
                        c.Y[t * c.Rows + r] = sum;
                    }
                }
            }
        }
        """;

    /// <inheritdoc />
    public override IReadOnlyList<KernelShape> VerificationShapes { get; }

    /// <inheritdoc />
    public override IReadOnlyList<KernelShape> ProfileShapes { get; }

    /// <inheritdoc />
    public override KernelVariant DefaultVariant => KernelNames.DefaultVariant(Name);

    /// <summary>rows x cols x tokens.</summary>
    public static KernelShape Shape(int rows, int cols, int tokens) => new($"{rows}x{cols}x{tokens}", [rows, cols, tokens]);

    /// <inheritdoc />
    public override string ShapeClass(KernelShape shape) => shape[2] < QuantizedMatMul.MinTokens ? "tokens" : "prefill";

    /// <summary>
    /// As <see cref="QuantizedMatVecSpec"/>'s int8 path, per output: float32 accumulation over cols products plus the
    /// activation error cols · max|w| · max|x − x̂| with |w| ≤ 1.25 and |x − x̂| &lt; 0.57/127 for x drawn from [−1, 1).
    /// </summary>
    public override (double Absolute, double Relative) Tolerance(KernelShape shape) =>
        (2e-6 * shape[1] + shape[1] * 1.25 * 0.57 / 127, 1e-5);

    /// <summary>Threads, and groups of 8 rows packed per pass (1: about 128 KiB of them).</summary>
    public override IReadOnlyList<KernelVariant> FeatureSpace() =>
        [
            .. from threads in ThreadCounts
               from groups in new[] { 1, 4, 16 }
               select QuantizedMatMul.DefaultVariant with { Threads = threads, BlockSize = groups },
        ];

    /// <inheritdoc />
    public override KernelCase CreateCase(KernelShape shape, int seed) => new QuantizedMatMulCase(_info.Type, shape, seed);

    /// <inheritdoc />
    protected override void Run(QuantizedMatMulCase c, KernelVariant variant) =>
        QuantizedMatMul.Multiply(c.Type, c.Weights, c.Rows, c.Cols, c.X, c.Tokens, c.Y, c.Rows, variant);
}
