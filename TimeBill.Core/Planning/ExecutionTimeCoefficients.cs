namespace TimeBill.Core.Planning;

/// <summary>
/// The fitted latency model of one model on one machine, in milliseconds: prefill, full-depth decode step, and
/// layer-aware decode step. The planner's closed form for the eviction ratio α* reads these directly.
/// </summary>
/// <param name="Prefill">Prefill time <c>a·Nx² + b·Nx + c</c>.</param>
/// <param name="Step">Full-depth decode step time <c>p·Nkv + q</c>, fitted on steps that run every layer.</param>
/// <param name="LayeredStep">Decode step time when only the first ℓ layers run, <c>ℓ·(p1·Nkv + q1) + h</c>.</param>
public sealed record ExecutionTimeCoefficients(PrefillCost Prefill, DecodeStepCost Step, LayeredDecodeStepCost LayeredStep)
{
    /// <summary>
    /// The step model to use for a given expected depth: <see cref="Step"/> when <paramref name="layersPerToken"/> is
    /// <c>null</c> (every layer runs), otherwise <see cref="LayeredStep"/> at that depth.
    /// </summary>
    public DecodeStepCost StepFor(double? layersPerToken) =>
        layersPerToken is { } layers ? LayeredStep.ForLayers(layers) : Step;
}
