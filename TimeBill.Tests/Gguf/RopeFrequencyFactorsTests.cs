using TimeBill.Core.Model;

namespace TimeBill.Tests.Gguf;

/// <summary>Per-frequency rotary divisors (GGUF's rope_freqs.weight) without disturbing the shape hashes trained files are keyed by.</summary>
public sealed class RopeFrequencyFactorsTests
{
    [Fact]
    public void ShapesWithoutFactorsPrintAsTheCompilerPrintedThem()
    {
        Assert.Equal("RopeScaling { Theta = 10000, Type = default, Factor = 1, LowFrequencyFactor = 1, HighFrequencyFactor = 4, OriginalMaxPositions = 8192 }",
            new RopeScaling(10000).ToString());
    }

    [Fact]
    public void FactorsCompareByValueAndDivideTheFrequencies()
    {
        var a = new RopeScaling(10000) { FrequencyFactors = new RopeFrequencyFactors([1f, 2f, 4f, 8f]) };
        var b = new RopeScaling(10000) { FrequencyFactors = new RopeFrequencyFactors([1f, 2f, 4f, 8f]) };
        Assert.Equal(a, b);
        Assert.NotEqual(a, new RopeScaling(10000));
        TimeBill.Core.Native.TorchSharpNativeLoader.EnsureLoaded();
        using var plain = RotaryEmbedding.InverseFrequencies(8, new RopeScaling(10000));
        using var divided = RotaryEmbedding.InverseFrequencies(8, a);
        var p = plain.data<float>().ToArray();
        var d = divided.data<float>().ToArray();
        for (int i = 0; i < 4; i++) Assert.Equal(p[i] / (1 << i), d[i], 1e-7f);
    }
}
