namespace TimeBill.Core.Model;

/// <summary>
/// Rotary position embedding parameters: the base θ and, for <c>llama3</c> scaling, the frequency
/// smoothing between the original and the extended context.
/// </summary>
/// <param name="Theta">Rotary base θ.</param>
/// <param name="Type">"default" or "llama3".</param>
/// <param name="Factor">llama3: overall context extension factor.</param>
/// <param name="LowFrequencyFactor">llama3: wavelengths above original/low are divided by <paramref name="Factor"/>.</param>
/// <param name="HighFrequencyFactor">llama3: wavelengths below original/high are kept.</param>
/// <param name="OriginalMaxPositions">llama3: the context the model was trained on before extension.</param>
public sealed record RopeScaling(
    double Theta,
    string Type = "default",
    double Factor = 1,
    double LowFrequencyFactor = 1,
    double HighFrequencyFactor = 4,
    int OriginalMaxPositions = 8192);
