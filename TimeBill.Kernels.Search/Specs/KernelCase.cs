namespace TimeBill.Kernels.Specs;

/// <summary>
/// The inputs and output buffer of one kernel call at one shape, filled from a seed. Candidates read the inputs
/// and write the output; the verifier poisons the output first and compares it with the float64 reference.
/// </summary>
public abstract class KernelCase
{
    /// <summary>Creates a case for <paramref name="shape"/>.</summary>
    protected KernelCase(KernelShape shape) => Shape = shape;

    /// <summary>The shape the case was generated for.</summary>
    public KernelShape Shape { get; }

    /// <summary>Bytes of inputs and output, for sizing the profiler's buffer rotation.</summary>
    public abstract long Bytes { get; }

    /// <summary>Fills the output with values no correct kernel leaves behind (NaN, or −1 for indices).</summary>
    public abstract void Poison();

    /// <summary>The exact result, computed in float64 from the same inputs.</summary>
    public abstract double[] Reference();

    /// <summary>The output as the candidate left it.</summary>
    public abstract double[] Result();

    /// <summary>Uniform floats in [−1, 1).</summary>
    protected static float[] RandomFloats(Random random, long count)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = random.NextSingle() * 2f - 1f;
        return values;
    }

    /// <summary>Widens an output buffer for comparison.</summary>
    protected static double[] ToDoubles(float[] values) => Array.ConvertAll(values, v => (double)v);
}
