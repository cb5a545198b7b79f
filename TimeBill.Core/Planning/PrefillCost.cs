namespace TimeBill.Core.Planning;

/// <summary>
/// Prefill time model <c>t_prefill(Nx) = A·Nx² + B·Nx + C + D·⌈Nx / QueryBlock⌉</c> in milliseconds, with <c>Nx</c> the
/// prompt length in tokens. The quadratic term is attention over the prompt, the linear term the per-token matrix work,
/// the constant the fixed overhead of one forward call. Prefill attention runs in blocks of <c>QueryBlock</c> queries,
/// and every block pays a fixed cost of its own (its operator launches in every layer): <c>D</c> is that cost, a step
/// wherever the prompt spills into one more block. It is a few percent of a 128-token slope on a 135M model but a third
/// of a small model's (stories260K: about 2 ms per block against 6 ms per call), where a plain quadratic leaves a
/// ±6 % saw-tooth. <c>QueryBlock = 0</c> leaves the term out (the plain quadratic).
/// </summary>
/// <param name="A">Milliseconds per squared prompt token (≥ 0).</param>
/// <param name="B">Milliseconds per prompt token (≥ 0).</param>
/// <param name="C">Fixed milliseconds per prefill (≥ 0).</param>
/// <param name="D">Fixed milliseconds per block of <paramref name="QueryBlock"/> queries (≥ 0).</param>
/// <param name="QueryBlock">Queries per prefill attention block; 0: no block term.</param>
public sealed record PrefillCost(double A, double B, double C, double D = 0, int QueryBlock = 0)
{
    /// <summary>Predicted prefill time in milliseconds for a prompt of <paramref name="promptLength"/> tokens.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="promptLength"/> is negative.</exception>
    public double Milliseconds(double promptLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        return (A * promptLength + B) * promptLength + C + D * Blocks(promptLength, QueryBlock);
    }

    /// <summary>This cost with every coefficient multiplied by <paramref name="factor"/> (a uniformly slower or faster machine).</summary>
    public PrefillCost Scaled(double factor) => this with { A = A * factor, B = B * factor, C = C * factor, D = D * factor };

    /// <summary>
    /// <c>⌈promptLength / queryBlock⌉</c>, the attention blocks of a prefill (0 when <paramref name="queryBlock"/> is 0):
    /// the feature of the <c>D</c> term.
    /// </summary>
    public static double Blocks(double promptLength, int queryBlock) =>
        queryBlock > 0 ? Math.Ceiling(promptLength / queryBlock) : 0;
}
