using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Specs;

/// <summary>y = x / sqrt(mean(x²) + Eps) · Weight. Shape dimensions: length.</summary>
public sealed class RmsNormCase : KernelCase
{
    /// <summary>x [Length].</summary>
    public float[] X { get; }
    /// <summary>Per-element gain [Length].</summary>
    public float[] Weight { get; }
    /// <summary>y [Length], the output.</summary>
    public float[] Y { get; }
    /// <summary>Added to the mean square.</summary>
    public float Eps => 1e-5f;
    /// <summary>Elements.</summary>
    public int Length => Shape[0];

    internal RmsNormCase(KernelShape shape, int seed) : base(shape)
    {
        var random = new Random(seed);
        (X, Weight, Y) = (RandomFloats(random, Length), RandomFloats(random, Length), new float[Length]);
    }

    /// <inheritdoc />
    public override long Bytes => 12L * Length;
    /// <inheritdoc />
    public override void Poison() => Array.Fill(Y, float.NaN);
    /// <inheritdoc />
    public override double[] Result() => ToDoubles(Y);
    /// <inheritdoc />
    public override double[] Reference()
    {
        double meanSquare = X.Sum(v => (double)v * v) / Length;
        double scale = 1 / Math.Sqrt(meanSquare + Eps);
        return [.. X.Select((v, i) => v * scale * Weight[i])];
    }
}

/// <summary>Spec of <see cref="RmsNorm.Apply"/>.</summary>
public sealed class RmsNormSpec : KernelSpec<RmsNormCase>
{
    /// <inheritdoc />
    public override string Name => KernelNames.RmsNorm;
    /// <inheritdoc />
    public override string Task => "RMSNorm: y[i] = x[i] / sqrt(mean(x²) + Eps) * Weight[i] over all Length elements, float32.";
    /// <inheritdoc />
    public override string NaiveSource => """
        using System;
        using TimeBill.Kernels.Specs;
        public static class Candidate
        {
            public static void Run(RmsNormCase c)
            {
                float sum = 0;
                for (int i = 0; i < c.Length; i++) sum += c.X[i] * c.X[i];
                float scale = 1f / MathF.Sqrt(sum / c.Length + c.Eps);
                for (int i = 0; i < c.Length; i++) c.Y[i] = c.X[i] * scale * c.Weight[i];
            }
        }
        """;
    /// <inheritdoc />
    public override IReadOnlyList<KernelShape> VerificationShapes { get; } = [.. new[] { 1, 7, 9, 33, 64, 577, 1001 }.Select(Shape)];
    /// <inheritdoc />
    public override IReadOnlyList<KernelShape> ProfileShapes { get; } = [Shape(576)];
    /// <inheritdoc />
    public override KernelVariant DefaultVariant => RmsNorm.DefaultVariant;
    /// <summary>A vector of <paramref name="length"/> elements.</summary>
    public static KernelShape Shape(int length) => new($"{length}", [length]);
    /// <inheritdoc />
    public override string ShapeClass(KernelShape shape) => ShapeClasses.Any;
    /// <inheritdoc />
    public override KernelCase CreateCase(KernelShape shape, int seed) => new RmsNormCase(shape, seed);
    /// <inheritdoc />
    public override (double Absolute, double Relative) Tolerance(KernelShape shape) => (1e-5, 1e-5);
    /// <inheritdoc />
    public override IReadOnlyList<KernelVariant> FeatureSpace() =>
        [.. AcceleratedWidths.Select(w => new KernelVariant(KernelVariant.Lanes, w)), new KernelVariant(KernelVariant.TensorPrimitives, KernelVariant.WidestAcceleratedWidth)];
    /// <inheritdoc />
    protected override void Run(RmsNormCase c, KernelVariant variant) => RmsNorm.Apply(c.X, c.Weight, c.Eps, c.Y, variant);
}
