namespace TimeBill.Core.Planning;

/// <summary>
/// Time model of a decode step that runs only the first <c>ℓ</c> of the model's layers and then the output head:
/// <c>t_step(Nkv, ℓ) = ℓ·(P1·Nkv + Q1) + H</c> milliseconds. Each layer costs attention over the cache
/// (<c>P1·Nkv</c>) plus its fixed matrix work (<c>Q1</c>); <c>H</c> is the embedding, final norm, head and call
/// overhead, paid once per step whatever the depth. <c>ℓ</c> may be fractional (an expected depth per token).
/// </summary>
/// <param name="P1">Milliseconds per cached entry per layer (≥ 0).</param>
/// <param name="Q1">Fixed milliseconds per layer (≥ 0).</param>
/// <param name="H">Milliseconds per step outside the layers (≥ 0).</param>
/// <param name="LayerCount">The model's number of layers <c>L</c>.</param>
public sealed record LayeredDecodeStepCost(double P1, double Q1, double H, int LayerCount)
{
    /// <summary>Predicted time in milliseconds of one step over <paramref name="kvLength"/> entries running <paramref name="layers"/> layers.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative KV length, or layers outside [0, <see cref="LayerCount"/>].</exception>
    public double StepMilliseconds(double kvLength, double layers) => ForLayers(layers).StepMilliseconds(kvLength);

    /// <summary>
    /// The linear step model <c>P·Nkv + Q</c> of a step running <paramref name="layers"/> layers:
    /// <c>P = ℓ·P1</c>, <c>Q = ℓ·Q1 + H</c>; all closed forms of <see cref="DecodeStepCost"/> then apply.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layers"/> is outside [0, <see cref="LayerCount"/>].</exception>
    public DecodeStepCost ForLayers(double layers)
    {
        if (!(layers >= 0 && layers <= LayerCount))
            throw new ArgumentOutOfRangeException(nameof(layers), layers, $"The layer count must lie in [0, {LayerCount}].");
        return new DecodeStepCost(layers * P1, layers * Q1 + H);
    }

    /// <summary>This cost with every coefficient multiplied by <paramref name="factor"/>.</summary>
    public LayeredDecodeStepCost Scaled(double factor) => this with { P1 = P1 * factor, Q1 = Q1 * factor, H = H * factor };
}
