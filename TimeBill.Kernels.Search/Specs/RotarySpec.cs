using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Specs;

/// <summary>
/// Rotate-half rotary embedding of X [Heads, HeadDim] at Position, tables Cos/Sin [Positions, HeadDim/2]:
/// Y[i] = X[i]·cos − X[i+d/2]·sin, Y[i+d/2] = X[i+d/2]·cos + X[i]·sin. Shape dimensions: heads, headDim.
/// </summary>
public sealed class RotaryCase : KernelCase
{
    /// <summary>Query or key heads [Heads, HeadDim].</summary>
    public float[] X { get; }
    /// <summary>cos of the angles [Positions, HeadDim/2].</summary>
    public float[] Cos { get; }
    /// <summary>sin of the angles [Positions, HeadDim/2].</summary>
    public float[] Sin { get; }
    /// <summary>[Heads, HeadDim], the output.</summary>
    public float[] Y { get; }
    /// <summary>Heads.</summary>
    public int Heads => Shape[0];
    /// <summary>Elements per head (even).</summary>
    public int HeadDim => Shape[1];
    /// <summary>Rows of the tables.</summary>
    public int Positions => 8;
    /// <summary>The table row to use.</summary>
    public int Position { get; }

    internal RotaryCase(KernelShape shape, int seed) : base(shape)
    {
        var random = new Random(seed);
        X = RandomFloats(random, Heads * HeadDim);
        var angles = RandomFloats(random, Positions * HeadDim / 2);
        Cos = [.. angles.Select(a => MathF.Cos(a * 4))];
        Sin = [.. angles.Select(a => MathF.Sin(a * 4))];
        Y = new float[X.Length];
        Position = random.Next(Positions);
    }

    /// <inheritdoc />
    public override long Bytes => 4L * (2 * X.Length + Cos.Length + Sin.Length);
    /// <inheritdoc />
    public override void Poison() => Array.Fill(Y, float.NaN);
    /// <inheritdoc />
    public override double[] Result() => ToDoubles(Y);
    /// <inheritdoc />
    public override double[] Reference()
    {
        int half = HeadDim / 2;
        var y = new double[X.Length];
        for (int h = 0; h < Heads; h++)
            for (int i = 0; i < half; i++)
            {
                double a = X[h * HeadDim + i], b = X[h * HeadDim + half + i];
                double c = Cos[Position * half + i], s = Sin[Position * half + i];
                y[h * HeadDim + i] = a * c - b * s;
                y[h * HeadDim + half + i] = b * c + a * s;
            }
        return y;
    }
}

/// <summary>Spec of <see cref="Rotary.Apply"/>.</summary>
public sealed class RotarySpec : KernelSpec<RotaryCase>
{
    /// <inheritdoc />
    public override string Name => KernelNames.Rotary;
    /// <inheritdoc />
    public override string Task =>
        "Rotary position embedding, Hugging Face rotate-half layout. For each head h and i < HeadDim/2, with a = X[h,i], b = X[h,i+HeadDim/2], " +
        "c = Cos[Position,i], s = Sin[Position,i]: Y[h,i] = a*c - b*s and Y[h,i+HeadDim/2] = b*c + a*s. Write every element of Y.";
    /// <inheritdoc />
    public override string NaiveSource => """
        using TimeBill.Kernels.Specs;
        public static class Candidate
        {
            public static void Run(RotaryCase c)
            {
                int half = c.HeadDim / 2;
                for (int h = 0; h < c.Heads; h++)
                    for (int i = 0; i < half; i++)
                    {
                        float a = c.X[h * c.HeadDim + i], b = c.X[h * c.HeadDim + half + i];
                        float cos = c.Cos[c.Position * half + i], sin = c.Sin[c.Position * half + i];
                        c.Y[h * c.HeadDim + i] = a * cos - b * sin;
                        c.Y[h * c.HeadDim + half + i] = b * cos + a * sin;
                    }
            }
        }
        """;
    /// <inheritdoc />
    public override IReadOnlyList<KernelShape> VerificationShapes { get; } = [Shape(1, 2), Shape(3, 18), Shape(2, 14), Shape(9, 64), Shape(1, 130)];
    /// <inheritdoc />
    public override IReadOnlyList<KernelShape> ProfileShapes { get; } = [Shape(9, 64)];
    /// <inheritdoc />
    public override KernelVariant DefaultVariant => Rotary.DefaultVariant;
    /// <summary>heads x headDim.</summary>
    public static KernelShape Shape(int heads, int headDim) => new($"{heads}x{headDim}", [heads, headDim]);
    /// <inheritdoc />
    public override string ShapeClass(KernelShape shape) => ShapeClasses.Any;
    /// <inheritdoc />
    public override KernelCase CreateCase(KernelShape shape, int seed) => new RotaryCase(shape, seed);
    /// <inheritdoc />
    public override (double Absolute, double Relative) Tolerance(KernelShape shape) => (1e-6, 1e-5);
    /// <inheritdoc />
    public override IReadOnlyList<KernelVariant> FeatureSpace() => [.. AcceleratedWidths.Select(w => new KernelVariant(KernelVariant.Lanes, w))];
    /// <inheritdoc />
    protected override void Run(RotaryCase c, KernelVariant variant) =>
        Rotary.Apply(c.X, c.Heads, c.HeadDim, c.Cos, c.Sin, c.Position, c.Y, variant);
}
