using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Specs;

/// <summary>What the float32, bfloat16 and float16 matrix-vector specs share: shapes, tolerance, feature space.</summary>
public abstract class MatVecSpec<TCase> : KernelSpec<TCase> where TCase : KernelCase
{
    /// <summary>Bytes per weight element.</summary>
    protected abstract int WeightBytes { get; }

    /// <inheritdoc />
    public override IReadOnlyList<KernelShape> VerificationShapes { get; } =
        [Shape(1, 1), Shape(1, 17), Shape(3, 7), Shape(5, 33), Shape(7, 64), Shape(13, 100), Shape(66, 129)];

    /// <summary>SmolLM2-135M's MLP projection and its output head.</summary>
    public override IReadOnlyList<KernelShape> ProfileShapes { get; } = [Shape(1536, 576), Shape(49152, 576)];

    /// <inheritdoc />
    public override KernelVariant DefaultVariant => MatVec.DefaultVariant;

    /// <summary>rows x cols.</summary>
    public static KernelShape Shape(int rows, int cols) => new($"{rows}x{cols}", [rows, cols]);

    /// <inheritdoc />
    public override string ShapeClass(KernelShape shape) => ShapeClasses.MatVec(shape[0], shape[1], WeightBytes);

    /// <inheritdoc />
    public override (double Absolute, double Relative) Tolerance(KernelShape shape) => (2e-6 * shape[1], 1e-5);

    /// <inheritdoc />
    public override IReadOnlyList<KernelVariant> FeatureSpace() =>
    [
        .. from width in AcceleratedWidths
           from rows in new[] { 1, 2, 4 }
           from spread in rows > 1 ? new[] { false, true } : [false]
           from unroll in new[] { 1, 2 }
           from threads in ThreadCounts
           from prefetch in PrefetchDistances
           select new KernelVariant(KernelVariant.Lanes, width, rows, unroll, threads, SpreadRows: spread, PrefetchDistance: prefetch),
    ];

    /// <summary>Software prefetch distances searched, in bytes (0: none): four to 32 cache lines ahead.</summary>
    public static IReadOnlyList<int> PrefetchDistances { get; } = [0, 256, 512, 1024, 2048];
}

/// <summary>Spec of <see cref="MatVec.Float32"/>.</summary>
public sealed class MatVecFloat32Spec : MatVecSpec<MatVecFloat32Case>
{
    /// <inheritdoc />
    public override string Name => KernelNames.MatVecFloat32;
    /// <inheritdoc />
    protected override int WeightBytes => 4;
    /// <inheritdoc />
    public override string Task =>
        "Matrix-vector product y = W x. W is float32, row-major [Rows, Cols]; x is [Cols]; write all Rows elements of y. " +
        "This is the decode step's dominant cost: every weight is read once per token, so it is memory-bandwidth bound for large W.";
    /// <inheritdoc />
    public override string NaiveSource => """
        using TimeBill.Kernels.Specs;
        public static class Candidate
        {
            public static void Run(MatVecFloat32Case c)
            {
                for (int r = 0; r < c.Rows; r++)
                {
                    float sum = 0;
                    for (int k = 0; k < c.Cols; k++) sum += c.Weights[(long)r * c.Cols + k] * c.X[k];
                    c.Y[r] = sum;
                }
            }
        }
        """;
    /// <inheritdoc />
    public override KernelCase CreateCase(KernelShape shape, int seed) => new MatVecFloat32Case(shape, seed);
    /// <inheritdoc />
    protected override void Run(MatVecFloat32Case c, KernelVariant variant) => MatVec.Float32(c.Weights, c.Rows, c.Cols, c.X, c.Y, variant);
}

/// <summary>Spec of <see cref="MatVec.BFloat16"/>.</summary>
public sealed class MatVecBFloat16Spec : MatVecSpec<MatVecBFloat16Case>
{
    /// <inheritdoc />
    public override string Name => KernelNames.MatVecBFloat16;
    /// <inheritdoc />
    protected override int WeightBytes => 2;
    /// <inheritdoc />
    public override string Task =>
        "Matrix-vector product y = W x with bfloat16 weights. W holds raw bfloat16 bits (ushort), row-major [Rows, Cols]: " +
        "the float32 value is the bits shifted left by 16. x and y are float32; accumulate in float32. Half the bytes of float32 weights.";
    /// <inheritdoc />
    public override string NaiveSource => """
        using System;
        using TimeBill.Kernels.Specs;
        public static class Candidate
        {
            public static void Run(MatVecBFloat16Case c)
            {
                for (int r = 0; r < c.Rows; r++)
                {
                    float sum = 0;
                    for (int k = 0; k < c.Cols; k++)
                        sum += BitConverter.Int32BitsToSingle(c.Weights[(long)r * c.Cols + k] << 16) * c.X[k];
                    c.Y[r] = sum;
                }
            }
        }
        """;
    /// <inheritdoc />
    public override KernelCase CreateCase(KernelShape shape, int seed) => new MatVecBFloat16Case(shape, seed);
    /// <inheritdoc />
    protected override void Run(MatVecBFloat16Case c, KernelVariant variant) => MatVec.BFloat16(c.Weights, c.Rows, c.Cols, c.X, c.Y, variant);
}

/// <summary>Spec of <see cref="MatVec.Float16"/>.</summary>
public sealed class MatVecFloat16Spec : MatVecSpec<MatVecFloat16Case>
{
    /// <inheritdoc />
    public override string Name => KernelNames.MatVecFloat16;
    /// <inheritdoc />
    protected override int WeightBytes => 2;
    /// <inheritdoc />
    public override string Task =>
        "Matrix-vector product y = W x with IEEE float16 weights (ggml's F16). W holds raw float16 bits (ushort), row-major [Rows, Cols]: " +
        "the value is (float)BitConverter.UInt16BitsToHalf(bits), subnormals, infinities and NaNs included. x and y are float32; accumulate in float32. " +
        "Half the bytes of float32 weights; this runtime exposes no F16C conversion, so widening is bit manipulation.";
    /// <inheritdoc />
    public override string NaiveSource => """
        using System;
        using TimeBill.Kernels.Specs;
        public static class Candidate
        {
            public static void Run(MatVecFloat16Case c)
            {
                for (int r = 0; r < c.Rows; r++)
                {
                    float sum = 0;
                    for (int k = 0; k < c.Cols; k++)
                        sum += (float)BitConverter.UInt16BitsToHalf(c.Weights[(long)r * c.Cols + k]) * c.X[k];
                    c.Y[r] = sum;
                }
            }
        }
        """;
    /// <inheritdoc />
    public override KernelCase CreateCase(KernelShape shape, int seed) => new MatVecFloat16Case(shape, seed);
    /// <inheritdoc />
    protected override void Run(MatVecFloat16Case c, KernelVariant variant) => MatVec.Float16(c.Weights, c.Rows, c.Cols, c.X, c.Y, variant);
}
