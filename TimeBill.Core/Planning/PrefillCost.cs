namespace TimeBill.Core.Planning;

/// <summary>
/// Prefill time model <c>t_prefill(Nx) = A·Nx² + B·Nx + C</c> in milliseconds, with <c>Nx</c> the prompt length in
/// tokens. The quadratic term is attention over the prompt, the linear term the per-token matrix work, the
/// constant the fixed overhead of one forward call.
/// </summary>
/// <param name="A">Milliseconds per squared prompt token (≥ 0).</param>
/// <param name="B">Milliseconds per prompt token (≥ 0).</param>
/// <param name="C">Fixed milliseconds per prefill (≥ 0).</param>
public sealed record PrefillCost(double A, double B, double C)
{
    /// <summary>Predicted prefill time in milliseconds for a prompt of <paramref name="promptLength"/> tokens.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="promptLength"/> is negative.</exception>
    public double Milliseconds(double promptLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        return (A * promptLength + B) * promptLength + C;
    }

    /// <summary>This cost with every coefficient multiplied by <paramref name="factor"/> (a uniformly slower or faster machine).</summary>
    public PrefillCost Scaled(double factor) => new(A * factor, B * factor, C * factor);
}
