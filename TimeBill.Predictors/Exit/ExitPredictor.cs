namespace TimeBill.Predictors.Exit;

/// <summary>
/// The exit-layer predictor: a two-layer perceptron that reads the RMS-normalised hidden state of the current token
/// after the predictor layer and the top-1 probability of the logits the token was chosen from, and predicts for
/// every exit head at or above the predictor layer the top-1 probability that head will reach. The predicted exit
/// layer for a threshold τ is the first head whose predicted confidence reaches τ (none: full depth). Runs in
/// managed code: one call costs about (hidden + 1)·width + width·heads multiply-adds and no tensor operation.
/// </summary>
internal sealed class ExitPredictor
{
    /// <summary>Creates a predictor from its weights (row-major).</summary>
    /// <exception cref="ArgumentException">Weights whose sizes do not fit the shape.</exception>
    public ExitPredictor(int hiddenSize, int width, IReadOnlyList<int> layers, float[] w1, float[] b1, float[] w2, float[] b2)
    {
        ArgumentNullException.ThrowIfNull(layers);
        int inputs = hiddenSize + 1;
        if (w1.Length != width * inputs || b1.Length != width || w2.Length != layers.Count * width || b2.Length != layers.Count)
            throw new ArgumentException($"predictor weights do not fit hidden {hiddenSize}, width {width}, {layers.Count} heads.");
        HiddenSize = hiddenSize;
        Width = width;
        Layers = layers.ToArray();
        W1 = w1; B1 = b1; W2 = w2; B2 = b2;
    }

    /// <summary>Width of the hidden state read.</summary>
    public int HiddenSize { get; }
    /// <summary>Width of the perceptron's hidden layer.</summary>
    public int Width { get; }
    /// <summary>The exit layers it predicts confidences for, ascending.</summary>
    public IReadOnlyList<int> Layers { get; }
    internal float[] W1 { get; }
    internal float[] B1 { get; }
    internal float[] W2 { get; }
    internal float[] B2 { get; }

    /// <summary>Predicted top-1 probability of every head in <see cref="Layers"/>.</summary>
    public float[] PredictConfidences(ReadOnlySpan<float> hidden, float previousConfidence)
    {
        if (hidden.Length != HiddenSize) throw new ArgumentException($"expected a hidden state of {HiddenSize} values, got {hidden.Length}.", nameof(hidden));
        Span<float> input = stackalloc float[HiddenSize + 1];
        Normalise(hidden, input[..HiddenSize]);
        input[HiddenSize] = previousConfidence;
        Span<float> h = stackalloc float[Width];
        int inputs = HiddenSize + 1;
        for (int j = 0; j < Width; j++)
        {
            float s = B1[j];
            var row = W1.AsSpan(j * inputs, inputs);
            for (int i = 0; i < inputs; i++) s += row[i] * input[i];
            h[j] = Math.Max(0f, s);
        }
        var result = new float[Layers.Count];
        for (int k = 0; k < result.Length; k++)
        {
            float s = B2[k];
            var row = W2.AsSpan(k * Width, Width);
            for (int j = 0; j < Width; j++) s += row[j] * h[j];
            result[k] = 1f / (1f + MathF.Exp(-s));
        }
        return result;
    }

    /// <summary>The first layer whose predicted confidence reaches <paramref name="threshold"/>, or −1 (full depth).</summary>
    public int PredictExitLayer(ReadOnlySpan<float> hidden, float previousConfidence, double threshold)
    {
        if (double.IsPositiveInfinity(threshold)) return -1;
        var confidences = PredictConfidences(hidden, previousConfidence);
        for (int k = 0; k < confidences.Length; k++)
            if (confidences[k] >= threshold) return Layers[k];
        return -1;
    }

    /// <summary>x / rms(x): the input scaling the predictor was trained with.</summary>
    internal static void Normalise(ReadOnlySpan<float> x, Span<float> into)
    {
        double sum = 0;
        foreach (float v in x) sum += v * v;
        float scale = (float)(1.0 / Math.Sqrt(sum / x.Length + 1e-5));
        for (int i = 0; i < x.Length; i++) into[i] = x[i] * scale;
    }
}
