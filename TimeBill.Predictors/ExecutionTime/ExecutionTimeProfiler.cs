using MathNet.Numerics.Statistics;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// Measures a model's prefill and decode-step times on this machine and fits the latency model to them.
/// <para>
/// A run warms up first, then times every grid point several times and keeps the median (or another
/// <see cref="SampleStatistic"/>). The (point, repetition)
/// pairs of each phase are shuffled with a seeded generator, so slow drift of the machine (heat, a neighbour
/// process) spreads over the whole grid as noise instead of bending the curve. Every grid point whose index (by
/// length) is <c>HeldOutEvery/2</c> modulo <c>HeldOutEvery</c> is held out of the fit and measures its quality.
/// </para>
/// </summary>
public sealed class ExecutionTimeProfiler
{
    private readonly TimeProvider _clock;

    /// <summary>A profiler that times calls with <paramref name="clock"/> (the system's high-resolution clock by default).</summary>
    public ExecutionTimeProfiler(TimeProvider? clock = null) => _clock = clock ?? TimeProvider.System;

    /// <summary>
    /// Profiles <paramref name="target"/> and returns the fitted profile, keyed by the target's identity, data type,
    /// thread count and this machine.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="target"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option outside its range.</exception>
    /// <exception cref="ArgumentException">The target reports a context or layer count below 1.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ExecutionTimeProfile Run(IProfilingTarget target, ExecutionTimeProfilerOptions? options = null,
        IProgress<ProfilingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        options ??= new ExecutionTimeProfilerOptions();
        options.Validate();
        if (target.MaxContext < 2) throw new ArgumentException($"The target's context length must be ≥ 2, not {target.MaxContext}.", nameof(target));
        if (target.LayerCount < 1) throw new ArgumentException($"The target's layer count must be ≥ 1, not {target.LayerCount}.", nameof(target));

        long started = _clock.GetTimestamp();
        int maxPrompt = Math.Min(options.MaxPromptLength ?? 2048, target.MaxContext);
        int minPrompt = Math.Min(options.MinPromptLength, maxPrompt);
        int maxKv = Math.Min(options.MaxKvLength ?? 2 * maxPrompt, target.MaxContext - 1);

        int[] prompts = Grid(minPrompt, maxPrompt, options.PrefillGridPoints);
        int[] kvs = Grid(1, maxKv, options.KvGridPoints);
        int[] depths = LayerGrid(target.LayerCount, options.LayerGridPoints);

        var prefillTasks = Repeat(prompts.Select((n, i) => (Index: i, Length: n, Layers: 0)), options.PrefillRepetitions);
        var decodeTasks = Repeat(kvs.SelectMany((kv, i) => depths.Select(l => (Index: i, Length: kv, Layers: l))), options.DecodeRepetitions);
        var random = new Random(options.Seed);
        random.Shuffle(prefillTasks);
        random.Shuffle(decodeTasks);

        int warmUpCalls = options.WarmUpRounds * (2 + depths.Length);
        int total = warmUpCalls + prefillTasks.Length + decodeTasks.Length;
        int done = 0;
        void Report(ProfilingPhase phase, string what) => progress?.Report(new ProfilingProgress(phase, ++done, total, what));

        // Warm-up: a short and a medium prefill, and a mid-length step at every depth.
        int warmPrompt = Math.Max(minPrompt, maxPrompt / 4);
        for (int r = 0; r < options.WarmUpRounds; r++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            target.Prefill(minPrompt);
            Report(ProfilingPhase.WarmUp, $"prefill {minPrompt}");
            target.Prefill(warmPrompt);
            Report(ProfilingPhase.WarmUp, $"prefill {warmPrompt}");
            foreach (int l in depths)
            {
                target.PrepareDecodeStep(maxKv / 2);
                target.DecodeStep(maxKv / 2, l);
                Report(ProfilingPhase.WarmUp, $"step kv={maxKv / 2} layers={l}");
            }
        }

        var prefillSamples = prompts.Select(_ => new List<double>()).ToArray();
        foreach (var task in prefillTasks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long t0 = _clock.GetTimestamp();
            target.Prefill(task.Length);
            prefillSamples[task.Index].Add(MillisecondsSince(t0));
            Report(ProfilingPhase.Prefill, $"prefill {task.Length}");
        }

        var decodeSamples = new Dictionary<(int Kv, int Layers), List<double>>();
        foreach (var task in decodeTasks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            target.PrepareDecodeStep(task.Length);
            long t0 = _clock.GetTimestamp();
            target.DecodeStep(task.Length, task.Layers);
            double ms = MillisecondsSince(t0);
            if (!decodeSamples.TryGetValue((task.Length, task.Layers), out var list)) decodeSamples[(task.Length, task.Layers)] = list = [];
            list.Add(ms);
            Report(ProfilingPhase.DecodeStep, $"step kv={task.Length} layers={task.Layers}");
        }

        var measurements = new ExecutionTimeMeasurements(
            target.LayerCount,
            prompts.Select((n, i) => new PrefillMeasurement(n, Reduce(prefillSamples[i], options.Statistic), prefillSamples[i], IsHeldOut(i, prompts.Length, options.HeldOutEvery))).ToList(),
            kvs.SelectMany((kv, i) => depths.Select(l =>
                new DecodeStepMeasurement(kv, l, Reduce(decodeSamples[(kv, l)], options.Statistic), decodeSamples[(kv, l)], IsHeldOut(i, kvs.Length, options.HeldOutEvery)))).ToList(),
            options.Statistic);

        progress?.Report(new ProfilingProgress(ProfilingPhase.Fitting, done, total, "fitting"));
        var fit = ExecutionTimeFitter.Fit(measurements);
        var key = new ProfileKey(target.ModelIdentity, target.DataType, target.ThreadCount, MachineDescription.Current());
        return new ExecutionTimeProfile(ExecutionTimeProfile.CurrentFormatVersion, key, fit, measurements,
            DateTimeOffset.UtcNow, _clock.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>
    /// <paramref name="count"/> distinct integers from <paramref name="min"/> to <paramref name="max"/>, denser at the short
    /// end (spacing grows as <c>u^1.5</c>) where relative errors are easiest to make; fewer when the range is too narrow.
    /// </summary>
    internal static int[] Grid(int min, int max, int count)
    {
        var points = new SortedSet<int>();
        for (int i = 0; i < count; i++)
        {
            double u = count == 1 ? 1 : (double)i / (count - 1);
            points.Add((int)Math.Round(min + (max - min) * Math.Pow(u, 1.5), MidpointRounding.AwayFromZero));
        }
        return [.. points];
    }

    /// <summary>
    /// Up to <paramref name="count"/> depths evenly spread over 1..L, including 1 and L (only L when
    /// <paramref name="count"/> is 1).
    /// </summary>
    internal static int[] LayerGrid(int layerCount, int count)
    {
        if (count <= 1) return [layerCount];
        var depths = new SortedSet<int>();
        for (int j = 0; j < count; j++)
            depths.Add((int)Math.Round(1 + (layerCount - 1) * (double)j / (count - 1), MidpointRounding.AwayFromZero));
        return [.. depths];
    }

    /// <summary>Whether the grid point at <paramref name="index"/> (of <paramref name="count"/>) is held out of the fit.</summary>
    internal static bool IsHeldOut(int index, int count, int every) =>
        index > 0 && index < count - 1 && index % every == every / 2;

    private static (int Index, int Length, int Layers)[] Repeat(IEnumerable<(int Index, int Length, int Layers)> points, int repetitions) =>
        points.SelectMany(p => Enumerable.Repeat(p, repetitions)).ToArray();

    /// <summary>Elapsed milliseconds from raw timestamps (a <see cref="TimeSpan"/> would round to 100 ns).</summary>
    private double MillisecondsSince(long start) => (_clock.GetTimestamp() - start) * 1000.0 / _clock.TimestampFrequency;

    private static double Reduce(List<double> samples, SampleStatistic statistic) => statistic switch
    {
        SampleStatistic.Minimum => samples.Min(),
        _ => Statistics.Median(samples),
    };
}
