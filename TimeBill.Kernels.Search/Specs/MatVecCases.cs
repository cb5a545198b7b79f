namespace TimeBill.Kernels.Specs;

/// <summary>y [Rows] = W [Rows, Cols] (row-major float32) · x [Cols]. Shape dimensions: rows, cols.</summary>
public sealed class MatVecFloat32Case : KernelCase
{
    /// <summary>W, row-major [Rows, Cols].</summary>
    public float[] Weights { get; }
    /// <summary>x [Cols].</summary>
    public float[] X { get; }
    /// <summary>y [Rows], the output.</summary>
    public float[] Y { get; }
    /// <summary>Rows of W.</summary>
    public int Rows => Shape[0];
    /// <summary>Columns of W.</summary>
    public int Cols => Shape[1];

    internal MatVecFloat32Case(KernelShape shape, int seed) : base(shape)
    {
        var random = new Random(seed);
        Weights = RandomFloats(random, (long)Rows * Cols);
        X = RandomFloats(random, Cols);
        Y = new float[Rows];
    }

    /// <inheritdoc />
    public override long Bytes => 4L * (Weights.Length + X.Length + Y.Length);
    /// <inheritdoc />
    public override void Poison() => Array.Fill(Y, float.NaN);
    /// <inheritdoc />
    public override double[] Result() => ToDoubles(Y);
    /// <inheritdoc />
    public override double[] Reference() => MatVecReference.Compute(Rows, Cols, i => Weights[i], X);
}

/// <summary>y [Rows] = W [Rows, Cols] (row-major bfloat16 raw bits) · x [Cols], accumulated in float32. Shape dimensions: rows, cols.</summary>
public sealed class MatVecBFloat16Case : KernelCase
{
    /// <summary>W as bfloat16 bits, row-major [Rows, Cols]; value = float with these bits in its upper half.</summary>
    public ushort[] Weights { get; }
    /// <summary>x [Cols].</summary>
    public float[] X { get; }
    /// <summary>y [Rows], the output.</summary>
    public float[] Y { get; }
    /// <summary>Rows of W.</summary>
    public int Rows => Shape[0];
    /// <summary>Columns of W.</summary>
    public int Cols => Shape[1];

    internal MatVecBFloat16Case(KernelShape shape, int seed) : base(shape)
    {
        var random = new Random(seed);
        Weights = new ushort[(long)Rows * Cols];
        BFloat16Bits.FromSingle(RandomFloats(random, Weights.LongLength), Weights);
        X = RandomFloats(random, Cols);
        Y = new float[Rows];
    }

    /// <inheritdoc />
    public override long Bytes => 2L * Weights.Length + 4L * (X.Length + Y.Length);
    /// <inheritdoc />
    public override void Poison() => Array.Fill(Y, float.NaN);
    /// <inheritdoc />
    public override double[] Result() => ToDoubles(Y);
    /// <inheritdoc />
    public override double[] Reference() => MatVecReference.Compute(Rows, Cols, i => BFloat16Bits.ToSingle(Weights[i]), X);
}

/// <summary>y [Rows] = W [Rows, Cols] (row-major IEEE float16 raw bits) · x [Cols], accumulated in float32. Shape dimensions: rows, cols.</summary>
public sealed class MatVecFloat16Case : KernelCase
{
    /// <summary>W as float16 bits, row-major [Rows, Cols]; value = <c>(float)BitConverter.UInt16BitsToHalf(bits)</c>.</summary>
    public ushort[] Weights { get; }
    /// <summary>x [Cols].</summary>
    public float[] X { get; }
    /// <summary>y [Rows], the output.</summary>
    public float[] Y { get; }
    /// <summary>Rows of W.</summary>
    public int Rows => Shape[0];
    /// <summary>Columns of W.</summary>
    public int Cols => Shape[1];

    internal MatVecFloat16Case(KernelShape shape, int seed) : base(shape)
    {
        var random = new Random(seed);
        Weights = Array.ConvertAll(RandomFloats(random, (long)Rows * Cols), v => BitConverter.HalfToUInt16Bits((Half)v));
        X = RandomFloats(random, Cols);
        Y = new float[Rows];
    }

    /// <inheritdoc />
    public override long Bytes => 2L * Weights.Length + 4L * (X.Length + Y.Length);
    /// <inheritdoc />
    public override void Poison() => Array.Fill(Y, float.NaN);
    /// <inheritdoc />
    public override double[] Result() => ToDoubles(Y);
    /// <inheritdoc />
    public override double[] Reference() => MatVecReference.Compute(Rows, Cols, i => (float)BitConverter.UInt16BitsToHalf(Weights[i]), X);
}

internal static class MatVecReference
{
    public static double[] Compute(int rows, int cols, Func<long, float> weight, float[] x)
    {
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += (double)weight((long)r * cols + c) * x[c];
            y[r] = sum;
        }
        return y;
    }
}
