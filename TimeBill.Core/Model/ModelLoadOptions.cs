using TimeBill.Kernels.Quantized;

namespace TimeBill.Core.Model;

/// <summary>How a loaded model holds its weight matrices (norms and biases are float32 whatever the format).</summary>
public enum WeightFormat
{
    /// <summary>As the checkpoint gives them: float32 from a safetensors folder, the stored types of a GGUF file.</summary>
    AsStored,
    /// <summary>float32 (a GGUF file's matrices widened at load).</summary>
    Float32,
    /// <summary>IEEE float16, quantized at load.</summary>
    Float16,
    /// <summary>bfloat16, quantized at load.</summary>
    BFloat16,
    /// <summary>ggml Q8_0 (32 int8 values and a float16 scale per block), quantized at load.</summary>
    Q8_0,
    /// <summary>ggml Q4_0 (32 4-bit values and a float16 scale per block), quantized at load.</summary>
    Q4_0,
}

/// <summary>Options of <see cref="CausalLanguageModel.Load(string, ModelLoadOptions)"/>.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>The options <see cref="CausalLanguageModel.Load(string)"/> uses.</summary>
    public static ModelLoadOptions Default { get; } = new();

    /// <summary>
    /// How the matrices are held. <see cref="WeightFormat.Float16"/>, <see cref="WeightFormat.BFloat16"/>,
    /// <see cref="WeightFormat.Q8_0"/> and <see cref="WeightFormat.Q4_0"/> quantize a safetensors folder's matrices one
    /// tensor at a time into native memory the model owns, in ggml's layout (as <c>convert</c> writes them: a matrix
    /// whose rows are not whole blocks falls back to Q8_0, then F16); a GGUF file keeps its types or is widened to float32.
    /// </summary>
    public WeightFormat Weights { get; init; } = WeightFormat.AsStored;

    /// <summary>The names <see cref="ParseWeights"/> takes, in <see cref="WeightFormat"/> order (the CLI's <c>--weights</c>).</summary>
    public static IReadOnlyList<string> WeightFormatNames { get; } = ["stored", "f32", "f16", "bf16", "q8_0", "q4_0"];

    /// <summary>The format named <paramref name="name"/> (case-insensitive), one of <see cref="WeightFormatNames"/>.</summary>
    /// <exception cref="ArgumentException">Any other name.</exception>
    public static WeightFormat ParseWeights(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        int index = WeightFormatNames.ToList().FindIndex(n => n.Equals(name.Trim(), StringComparison.OrdinalIgnoreCase));
        return index >= 0 ? (WeightFormat)index
            : throw new ArgumentException($"weight format '{name}' is not one of {string.Join(", ", WeightFormatNames)}.", nameof(name));
    }

    /// <summary>The ggml type matrices are quantized to at load, or null when they are not (stored or float32).</summary>
    internal GgmlType? QuantizedType => Weights switch
    {
        WeightFormat.AsStored or WeightFormat.Float32 => null,
        WeightFormat.Float16 => GgmlType.F16,
        WeightFormat.BFloat16 => GgmlType.BF16,
        WeightFormat.Q8_0 => GgmlType.Q8_0,
        WeightFormat.Q4_0 => GgmlType.Q4_0,
        _ => throw new ArgumentOutOfRangeException(nameof(Weights), Weights, $"not a {nameof(WeightFormat)}; known: {string.Join(", ", Enum.GetNames<WeightFormat>())}."),
    };
}
