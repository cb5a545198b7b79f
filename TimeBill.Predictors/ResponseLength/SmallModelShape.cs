namespace TimeBill.Predictors.ResponseLength;

/// <summary>Size of the small-model RLP's transformer.</summary>
/// <param name="Dim">Model dimension.</param>
/// <param name="Layers">Encoder blocks.</param>
/// <param name="Heads">Attention heads.</param>
/// <param name="Window">Last prompt tokens read (longer prompts are seen through their last tokens plus the length features).</param>
internal sealed record SmallModelShape(int Dim = 64, int Layers = 2, int Heads = 4, int Window = 64);
