using TimeBill.Kernels.Quantized;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Specs;

/// <summary>
/// y [Rows] = W [Rows, Cols] · x [Cols] with W in a ggml block format (row-major, each row a whole number of blocks).
/// Shape dimensions: rows, cols. The reference is the float64 product of the dequantized W with the float x.
/// </summary>
public sealed class QuantizedMatVecCase : KernelCase
{
    /// <summary>The weights' ggml type.</summary>
    public GgmlType Type { get; }
    /// <summary>W as ggml blocks, rows one after the other.</summary>
    public byte[] Weights { get; }
    /// <summary>x [Cols].</summary>
    public float[] X { get; }
    /// <summary>y [Rows], the output.</summary>
    public float[] Y { get; }
    /// <summary>Room for x quantized to its activation blocks (<see cref="QuantizedMatVec.ActivationBytes"/>).</summary>
    public byte[] Scratch { get; }
    /// <summary>Rows of W.</summary>
    public int Rows => Shape[0];
    /// <summary>Columns of W.</summary>
    public int Cols => Shape[1];

    private readonly float[] _dequantized;

    internal QuantizedMatVecCase(GgmlType type, KernelShape shape, int seed) : base(shape)
    {
        Type = type;
        var random = new Random(seed);
        (Weights, _dequantized) = QuantizedWeights.Random(type, Rows, Cols, random, RandomFloats);
        X = RandomFloats(random, Cols);
        Y = new float[Rows];
        Scratch = new byte[QuantizedMatVec.ActivationBytes(type, Cols)];
    }

    /// <inheritdoc />
    public override long Bytes => Weights.LongLength + Scratch.Length + 4L * (X.Length + Y.Length);
    /// <inheritdoc />
    public override void Poison() => Array.Fill(Y, float.NaN);
    /// <inheritdoc />
    public override double[] Result() => ToDoubles(Y);
    /// <inheritdoc />
    public override double[] Reference() => MatVecReference.Compute(Rows, Cols, i => _dequantized[i], X);
}

/// <summary>Spec of <see cref="QuantizedMatVec"/> for one weight format and one path (int8 activations or float).</summary>
public sealed class QuantizedMatVecSpec : KernelSpec<QuantizedMatVecCase>
{
    private readonly GgmlTypeInfo _info;
    private readonly bool _floatPath;

    /// <summary>A spec for <paramref name="type"/> weights on the int8 path, or the float path when <paramref name="floatPath"/>.</summary>
    public QuantizedMatVecSpec(GgmlType type, bool floatPath)
    {
        _info = GgmlTypeInfo.Of(type);
        _floatPath = floatPath;
        int block = _info.BlockSize;
        VerificationShapes = block == 32
            ? [Shape(1, 32), Shape(3, 64), Shape(5, 96), Shape(7, 288), Shape(13, 32), Shape(66, 160)]
            : [Shape(1, 256), Shape(3, 512), Shape(7, 768), Shape(13, 256), Shape(66, 512)];
        // SmolLM2-135M: 576 columns are not whole 256-blocks (llama.cpp falls back to a 32-block type there).
        ProfileShapes = block == 32 ? [Shape(1536, 576), Shape(49152, 576)] : [Shape(576, 1536)];
    }

    /// <summary>One spec per supported format and path.</summary>
    public static IReadOnlyList<QuantizedMatVecSpec> All { get; } =
    [
        .. from type in QuantizedMatVec.Formats
           from floatPath in new[] { false, true }
           select new QuantizedMatVecSpec(type, floatPath),
    ];

    /// <inheritdoc />
    public override string Name => KernelNames.QuantizedMatVec(_info.Type, _floatPath);

    /// <inheritdoc />
    public override string Task =>
        $"Matrix-vector product y = W x with W in ggml's {_info.Name} block format ({_info.BlockSize} elements in {_info.BlockBytes} bytes, " +
        "rows of whole blocks, laid out as llama.cpp's ggml-common.h). x and y are float32. " +
        (_floatPath
            ? "Accurate path: decode weights to float32 and accumulate in float32 against the float x."
            : $"Fast path: x may be quantized to {GgmlTypeInfo.Of(QuantizedMatVec.ActivationType(_info.Type)).Name} blocks into c.Scratch, as llama.cpp does, and multiplied with integer dot products per block.");

    /// <inheritdoc />
    public override string NaiveSource => """
        using System;
        using TimeBill.Kernels.Quantized;
        using TimeBill.Kernels.Specs;
        public static class Candidate
        {
            public static void Run(QuantizedMatVecCase c)
            {
                int rowBytes = GgmlTypeInfo.Of(c.Type).RowBytes(c.Cols);
                var row = new float[c.Cols];
                for (int r = 0; r < c.Rows; r++)
                {
                    GgmlQuantization.Dequantize(c.Type, c.Weights.AsSpan(r * rowBytes, rowBytes), row);
                    float sum = 0;
                    for (int k = 0; k < c.Cols; k++) sum += row[k] * c.X[k];
                    c.Y[r] = sum;
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

    /// <summary>rows x cols.</summary>
    public static KernelShape Shape(int rows, int cols) => new($"{rows}x{cols}", [rows, cols]);

    /// <inheritdoc />
    public override string ShapeClass(KernelShape shape) => ShapeClasses.MatVec(shape[0], _info.RowBytes(shape[1]), 1);

    /// <summary>
    /// Float path: float32 accumulation over cols products, as <see cref="MatVecSpec{TCase}"/>. Int8 path adds the
    /// activation error |Σ w (x − x̂)| ≤ cols · max|w| · max|x − x̂|: the case's W is drawn from [−1, 1) and every
    /// format decodes within a quarter of it (|w| ≤ 1.25); x is drawn from [−1, 1) so a block's d ≤ 1/127 and
    /// |x − x̂| ≤ d/2 + 127·|d − fp16(d)| ≤ (0.5 + 127·2⁻¹¹)·d &lt; 0.57/127 (Q8_K keeps d in float32: 0.5/127).
    /// </summary>
    public override (double Absolute, double Relative) Tolerance(KernelShape shape)
    {
        double accumulation = 2e-6 * shape[1];
        return _floatPath ? (accumulation, 1e-5) : (accumulation + shape[1] * 1.25 * 0.57 / 127, 1e-5);
    }

    /// <inheritdoc />
    public override IReadOnlyList<KernelVariant> FeatureSpace() =>
    [
        .. from width in AcceleratedWidths
           from threads in ThreadCounts
           from prefetch in _floatPath ? [0] : PrefetchDistances
           select new KernelVariant(_floatPath ? KernelVariant.DequantizedFloat : KernelVariant.Int8Dot, width, Threads: threads, PrefetchDistance: prefetch),
    ];

    /// <summary>Bytes ahead of each row the integer path may prefetch (0: none).</summary>
    public static IReadOnlyList<int> PrefetchDistances { get; } = [0, 1024, QuantizedMatVec.DefaultPrefetchDistance, 16384];

    /// <inheritdoc />
    public override KernelCase CreateCase(KernelShape shape, int seed) => new QuantizedMatVecCase(_info.Type, shape, seed);

    /// <inheritdoc />
    protected override void Run(QuantizedMatVecCase c, KernelVariant variant) =>
        QuantizedMatVec.Multiply(c.Type, c.Weights, c.Rows, c.Cols, c.X, c.Y, c.Scratch, variant);
}
