using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Specs;

/// <summary>Output = silu(Gate) · Up, silu(g) = g / (1 + e^(−g)). Shape dimensions: length.</summary>
public sealed class SwiGluCase : KernelCase
{
    /// <summary>Gate projection [Length].</summary>
    public float[] Gate { get; }
    /// <summary>Up projection [Length].</summary>
    public float[] Up { get; }
    /// <summary>[Length], the output.</summary>
    public float[] Output { get; }
    /// <summary>Elements.</summary>
    public int Length => Shape[0];

    internal SwiGluCase(KernelShape shape, int seed) : base(shape)
    {
        var random = new Random(seed);
        Gate = RandomFloats(random, Length);
        for (int i = 0; i < Length; i++) Gate[i] *= 8; // reach silu's saturated tails too
        (Up, Output) = (RandomFloats(random, Length), new float[Length]);
    }

    /// <inheritdoc />
    public override long Bytes => 12L * Length;
    /// <inheritdoc />
    public override void Poison() => Array.Fill(Output, float.NaN);
    /// <inheritdoc />
    public override double[] Result() => ToDoubles(Output);
    /// <inheritdoc />
    public override double[] Reference() => [.. Gate.Select((g, i) => g / (1 + Math.Exp(-g)) * Up[i])];
}

/// <summary>Spec of <see cref="SwiGlu.Apply"/>.</summary>
public sealed class SwiGluSpec : KernelSpec<SwiGluCase>
{
    /// <inheritdoc />
    public override string Name => KernelNames.SwiGlu;
    /// <inheritdoc />
    public override string Task => "SwiGLU: Output[i] = Gate[i] / (1 + exp(-Gate[i])) * Up[i] over all Length elements, float32.";
    /// <inheritdoc />
    public override string NaiveSource => """
        using System;
        using TimeBill.Kernels.Specs;
        public static class Candidate
        {
            public static void Run(SwiGluCase c)
            {
                for (int i = 0; i < c.Length; i++) c.Output[i] = c.Gate[i] / (1f + MathF.Exp(-c.Gate[i])) * c.Up[i];
            }
        }
        """;
    /// <inheritdoc />
    public override IReadOnlyList<KernelShape> VerificationShapes { get; } = [.. new[] { 1, 7, 9, 33, 255, 1537 }.Select(Shape)];
    /// <inheritdoc />
    public override IReadOnlyList<KernelShape> ProfileShapes { get; } = [Shape(1536)];
    /// <inheritdoc />
    public override KernelVariant DefaultVariant => SwiGlu.DefaultVariant;
    /// <summary>Vectors of <paramref name="length"/> elements.</summary>
    public static KernelShape Shape(int length) => new($"{length}", [length]);
    /// <inheritdoc />
    public override string ShapeClass(KernelShape shape) => ShapeClasses.Any;
    /// <inheritdoc />
    public override KernelCase CreateCase(KernelShape shape, int seed) => new SwiGluCase(shape, seed);
    /// <inheritdoc />
    public override (double Absolute, double Relative) Tolerance(KernelShape shape) => (1e-5, 1e-5);
    /// <inheritdoc />
    public override IReadOnlyList<KernelVariant> FeatureSpace() =>
        [.. AcceleratedWidths.Select(w => new KernelVariant(KernelVariant.Lanes, w)), new KernelVariant(KernelVariant.TensorPrimitives, KernelVariant.WidestAcceleratedWidth)];
    /// <inheritdoc />
    protected override void Run(SwiGluCase c, KernelVariant variant) => SwiGlu.Apply(c.Gate, c.Up, c.Output, variant);
}
