using TimeBill.Core.Generation;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// The short profile a generator runs when it is given none: small grids (prompts to 512 tokens, KV lengths to 1,024,
/// full depth and one shallow depth), few repetitions and a time budget, about 15 s on a 135M-parameter model on two
/// cores. Its fit extrapolates to longer prompts; the recalibrating estimator then follows the real jobs.
/// </summary>
internal static class QuickProfile
{
    /// <summary>The profiler options for a model with a context of <paramref name="context"/> positions.</summary>
    public static ExecutionTimeProfilerOptions Options(int context) => new()
    {
        MaxPromptLength = Math.Min(512, context),
        MaxKvLength = Math.Min(1024, context - 1),
        PrefillGridPoints = 7,
        CachedPrefillGridPoints = 2,
        KvGridPoints = 6,
        LayerGridPoints = 2,
        PrefillRepetitions = 3,
        DecodeRepetitions = 3,
        LongCallRepetitions = 3,
        WarmUpRounds = 1,
        WarmUpTime = TimeSpan.FromSeconds(1),
        ShortPointTime = TimeSpan.FromMilliseconds(250),
        ShortPointMaxFactor = 4,
        TimeBudget = TimeSpan.FromSeconds(10),
    };

    /// <summary>Profiles <paramref name="engine"/>'s model as its jobs run (chunked prefill, kernel steps).</summary>
    /// <remarks>Runs on the calling thread; the engine must have no job running.</remarks>
    public static ExecutionTimeProfile Measure(GenerationEngine engine, IProgress<ProfilingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var options = Options(engine.Model.Config.MaxPositions);
        using var target = new ModelProfilingTarget(engine, options.MaxPromptLength!.Value, options.MaxKvLength!.Value);
        return new ExecutionTimeProfiler().Run(target, options, progress, cancellationToken);
    }
}
