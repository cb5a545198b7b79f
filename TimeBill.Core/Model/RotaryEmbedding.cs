using TorchSharp;
using static TorchSharp.torch;

namespace TimeBill.Core.Model;

/// <summary>
/// Rotary position embedding in the Hugging Face "rotate half" layout, with the <c>llama3</c> frequency
/// scaling. Keys are rotated once, at the position they were computed for, and cached rotated; queries are
/// rotated at their own position. Attention then depends only on the difference of positions, so entries
/// survive eviction without re-rotation.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _inverseFrequencies; // [headDim/2], float32
    private Tensor _cos;                          // [tablePositions, headDim]
    private Tensor _sin;
    private int _tablePositions;

    public RotaryEmbedding(ModelConfig config)
    {
        _inverseFrequencies = InverseFrequencies(config.HeadDim, config.Rope).DetachFromDisposeScope();
        _cos = empty(0);
        _sin = empty(0);
        EnsureTable(Math.Min(config.MaxPositions, 4096));
    }

    /// <summary>The frequencies exactly as the reference computes them (float32 throughout).</summary>
    internal static Tensor InverseFrequencies(int headDim, RopeScaling rope)
    {
        using var scope = NewDisposeScope();
        var exponents = arange(0, headDim, 2, dtype: ScalarType.Int64).to(ScalarType.Float32) / headDim;
        var inverse = 1.0f / pow(tensor((float)rope.Theta), exponents);
        if (rope.Type == "llama3")
        {
            double factor = rope.Factor, low = rope.LowFrequencyFactor, high = rope.HighFrequencyFactor;
            double original = rope.OriginalMaxPositions;
            double lowWavelength = original / low, highWavelength = original / high;
            var wavelength = 2 * Math.PI / inverse;
            var scaled = where(wavelength > lowWavelength, inverse / factor, inverse);
            var smooth = (original / wavelength - low) / (high - low);
            var smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
            var medium = (wavelength >= highWavelength).logical_and(wavelength <= lowWavelength);
            inverse = where(medium, smoothed, scaled);
        }
        if (rope.FrequencyFactors is { } factors) inverse = inverse / tensor(factors.Values.ToArray());
        return inverse.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    private void EnsureTable(int positions)
    {
        if (positions <= _tablePositions) return;
        using var scope = NewDisposeScope();
        var t = arange(positions, dtype: ScalarType.Float32);
        var angles = outer(t, _inverseFrequencies);
        var doubled = cat([angles, angles], dim: -1);
        _cos.Dispose();
        _sin.Dispose();
        _cos = doubled.cos().DetachFromDisposeScope();
        _sin = doubled.sin().DetachFromDisposeScope();
        _tablePositions = positions;
    }

    /// <summary>cos and sin rows [T, headDim] for the consecutive positions start..start+count-1.</summary>
    public (Tensor Cos, Tensor Sin) Table(int start, int count)
    {
        if (start + count > _tablePositions) EnsureTable(Math.Max(start + count, 2 * _tablePositions));
        return (_cos.narrow(0, start, count), _sin.narrow(0, start, count));
    }

    /// <summary>Rotates <paramref name="x"/> [heads, T, headDim] by the given table rows.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var rotated = cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], dim: -1);
        return x * cos + rotated * sin;
    }

    public void Dispose()
    {
        _inverseFrequencies.Dispose();
        _cos.Dispose();
        _sin.Dispose();
    }
}
