using MathNet.Numerics.Statistics;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// Measures a model's prefill and decode-step times on this machine and fits the latency model to them.
/// <para>
/// A run warms up first, then measures in rounds: every round takes one more sample of each grid point that still
/// wants one, prefill and decode points mixed in an order shuffled with a seeded generator, so slow drift of the
/// machine (heat, a neighbour process) spreads over the whole grid as noise instead of bending a curve. A point's
/// time is the median (or another <see cref="SampleStatistic"/>) of its samples. A garbage collection runs before
/// every sample, outside the timing.
/// </para>
/// <para>
/// A decode sample is a batch of <see cref="ExecutionTimeProfilerOptions.StepsPerSample"/> back-to-back steps at the
/// point's KV length (the target drops each step's entry again, untimed), each step timed on its own; the sample is the
/// batch's median step (its fastest under <see cref="SampleStatistic.Minimum"/>), so one stall inside the batch does not
/// count and a single cold step does not decide the point.
/// </para>
/// <para>
/// A point whose median stays more than <see cref="ExecutionTimeProfilerOptions.UnsettledTolerance"/> above its fastest
/// sample (a neighbour's burst, preemption) gets two more samples at a time, up to twice its repetitions; the decision
/// looks at the point's own samples only. Long calls get fewer samples (<see cref="ExecutionTimeProfilerOptions.LongCallRepetitions"/>),
/// short ones more (<see cref="ExecutionTimeProfilerOptions.ShortPointTime"/>), and under a
/// <see cref="ExecutionTimeProfilerOptions.TimeBudget"/> a round only takes the points whose previous sample cost fits
/// in the time left, cheapest first; every point has at least one sample. Every grid point whose index (by length) is
/// <c>HeldOutEvery/2</c> modulo <c>HeldOutEvery</c> is held out of the fit and measures its quality.
/// </para>
/// </summary>
internal sealed class ExecutionTimeProfiler
{
    /// <summary>The time a decode sample aims at when the batch size is automatic.</summary>
    private const double AutoSampleMilliseconds = 4;
    /// <summary>The largest automatic batch of steps.</summary>
    private const int AutoMaxStepsPerSample = 15;
    /// <summary>The smallest automatic batch (a median of three).</summary>
    private const int AutoMinStepsPerSample = 3;

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
        if (target.PrefillQueryBlock < 0) throw new ArgumentException($"The target's prefill query block must be ≥ 0, not {target.PrefillQueryBlock}.", nameof(target));
        if (target.PrefillChunk < 0) throw new ArgumentException($"The target's prefill chunk must be ≥ 0, not {target.PrefillChunk}.", nameof(target));

        long started = _clock.GetTimestamp();
        int maxPrompt = Math.Min(options.MaxPromptLength ?? 2048, target.MaxContext);
        int minPrompt = Math.Min(options.MinPromptLength, maxPrompt);
        int maxKv = Math.Min(options.MaxKvLength ?? 2 * maxPrompt, target.MaxContext - 1);
        int[] prompts = Grid(minPrompt, maxPrompt, options.PrefillGridPoints);
        int[] depths = LayerGrid(target.LayerCount, options.LayerGridPoints);
        int[] kvs = Grid(1, maxKv, options.KvGridPoints);

        var warm = target.SupportsCachedPrefill ? CachedPrefillGrid(maxPrompt, target.MaxContext, options.CachedPrefillGridPoints) : [];
        var points = new List<GridPoint>();
        points.AddRange(prompts.Select((n, i) => new GridPoint(n, 0, i, options.PrefillRepetitions)));
        points.AddRange(warm.Select((w, i) => new GridPoint(w.New, 0, i, options.PrefillRepetitions, w.Cached)));
        points.AddRange(kvs.SelectMany((kv, i) => depths.Select(l => new GridPoint(kv, l, i, options.DecodeRepetitions))));
        int roundCalls = 2 + depths.Length * options.WarmUpSteps;
        int warmUpCalls = options.WarmUpRounds > 0 ? options.WarmUpRounds * roundCalls + prompts.Length + warm.Length : 0;
        int done = 0, total = warmUpCalls + points.Sum(p => p.Planned);
        void Report(ProfilingPhase phase, string what) => progress?.Report(new ProfilingProgress(phase, ++done, total, what));

        double fullStep = WarmUp(target, options, prompts, warm, Math.Max(minPrompt, maxPrompt / 4), maxKv / 2, depths, Report,
            () => total += roundCalls, cancellationToken);
        int batch = options.StepsPerSample ?? AutoStepsPerSample(fullStep);

        var random = new Random(options.Seed);
        long deadline = options.TimeBudget is { } budget ? started + (long)(budget.TotalSeconds * _clock.TimestampFrequency) : long.MaxValue;
        var stepTimes = new double[batch]; // one sample's steps
        double shortPointMs = options.ShortPointTime.TotalMilliseconds;
        for (int round = 1; ; round++)
        {
            var due = points.Where(p => p.Samples.Count < p.Planned).ToList();
            if (round > 1 && deadline != long.MaxValue) due = WithinBudget(due, (deadline - _clock.GetTimestamp()) * 1000.0 / _clock.TimestampFrequency);
            total = done + points.Sum(p => p.Planned - p.Samples.Count);
            if (due.Count == 0) break;
            var order = due.ToArray();
            random.Shuffle(order);
            foreach (var point in order)
            {
                cancellationToken.ThrowIfCancellationRequested();
                GC.Collect();
                GC.WaitForPendingFinalizers();
                long taskStart = _clock.GetTimestamp();
                if (point.Cached > 0) target.PrepareCachedPrefill(point.Cached);
                point.Samples.Add(point.IsPrefill ? TimePrefill(target, point.Length, point.Cached) : TimeSteps(target, point, stepTimes, options.Statistic, cancellationToken));
                point.Cost = MillisecondsSince(taskStart);
                if (point.Samples.Count == 1 && point.Samples[0] > options.LongCallMilliseconds)
                {
                    int planned = Math.Min(point.Planned, options.LongCallRepetitions);
                    total -= point.Planned - planned;
                    point.Planned = point.Repetitions = planned;
                }
                else if (point.Samples.Count == 1 && point.Cost * point.Planned < shortPointMs)
                {
                    int planned = Math.Min(point.Planned * options.ShortPointMaxFactor,
                        (int)Math.Ceiling(shortPointMs / Math.Max(point.Cost, 1e-6)));
                    total += planned - point.Planned;
                    point.Planned = point.Repetitions = planned;
                }
                if (point.Samples.Count == point.Planned && point.Planned + 2 <= 2 * point.Repetitions
                    && Statistics.Median(point.Samples) > (1 + options.UnsettledTolerance) * point.Samples.Min())
                {
                    point.Planned += 2; // unsettled: two more samples, until the median is clear of the noise or the count doubled
                    total += 2;
                }
                Report(point.IsPrefill ? ProfilingPhase.Prefill : ProfilingPhase.DecodeStep,
                    point.Cached > 0 ? $"prefill {point.Length} after {point.Cached} cached"
                    : point.IsPrefill ? $"prefill {point.Length}" : $"{batch} steps kv={point.Length} layers={point.Layers}");
            }
        }

        var measurements = new ExecutionTimeMeasurements(
            target.LayerCount,
            points.Where(p => p.IsPrefill).Select(p => new PrefillMeasurement(p.Length, Reduce(p.Samples, options.Statistic), p.Samples,
                p.Cached > 0 ? IsWarmHeldOut(warm, p.Index, options.HeldOutEvery) : IsHeldOut(p.Index, prompts.Length, options.HeldOutEvery), p.Cached)).ToList(),
            points.Where(p => !p.IsPrefill).Select(p => new DecodeStepMeasurement(p.Length, p.Layers, Reduce(p.Samples, options.Statistic), p.Samples,
                IsHeldOut(p.Index, kvs.Length, options.HeldOutEvery))).ToList(),
            options.Statistic,
            batch,
            target.PrefillQueryBlock,
            target.PrefillChunk);

        progress?.Report(new ProfilingProgress(ProfilingPhase.Fitting, done, total, "fitting"));
        var fit = ExecutionTimeFitter.Fit(measurements);
        var key = new ProfileKey(target.ModelIdentity, target.DataType, target.ThreadCount, MachineDescription.Current());
        return new ExecutionTimeProfile(ExecutionTimeProfile.CurrentFormatVersion, key, fit, measurements,
            DateTimeOffset.UtcNow, _clock.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>
    /// Untimed warm-up rounds, at least <see cref="ExecutionTimeProfilerOptions.WarmUpRounds"/> and, when there are any,
    /// until <see cref="ExecutionTimeProfilerOptions.WarmUpTime"/> has passed (<paramref name="extraRound"/> is told before
    /// each round beyond the minimum): a short and a medium prefill, and a run of steps at <paramref name="kv"/> at every
    /// depth, so the JIT has promoted the managed kernels to optimised code before anything is measured. Then one
    /// prefill of every length on the grid, longest first: the first prefill of a new length pays for native memory
    /// the process has not used yet (2–3× a settled prefill of 1,000–2,000 tokens on the 135M shape, and still
    /// visible on the second), which is not what a long-running host pays. Returns the median full-depth step of the
    /// last round (NaN without warm-up), which sizes the decode batches.
    /// </summary>
    private double WarmUp(IProfilingTarget target, ExecutionTimeProfilerOptions options, int[] prompts, (int Cached, int New)[] warm, int mediumPrompt, int kv,
        int[] depths, Action<ProfilingPhase, string> report, Action extraRound, CancellationToken cancellationToken)
    {
        var fullSteps = new List<double>();
        int shortPrompt = prompts[0];
        long started = _clock.GetTimestamp();
        for (int r = 0; r < options.WarmUpRounds || (options.WarmUpRounds > 0 && _clock.GetElapsedTime(started) < options.WarmUpTime); r++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (r >= options.WarmUpRounds) extraRound();
            target.Prefill(shortPrompt);
            report(ProfilingPhase.WarmUp, $"prefill {shortPrompt}");
            target.Prefill(mediumPrompt);
            report(ProfilingPhase.WarmUp, $"prefill {mediumPrompt}");
            fullSteps.Clear();
            foreach (int l in depths)
            {
                for (int s = 0; s < options.WarmUpSteps; s++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    target.PrepareDecodeStep(kv);
                    long t0 = _clock.GetTimestamp();
                    target.DecodeStep(kv, l);
                    if (l == target.LayerCount) fullSteps.Add(MillisecondsSince(t0));
                    report(ProfilingPhase.WarmUp, $"step kv={kv} layers={l}");
                }
            }
        }
        if (options.WarmUpRounds > 0)
        {
            foreach (int n in prompts.Reverse())
            {
                cancellationToken.ThrowIfCancellationRequested();
                target.Prefill(n);
                report(ProfilingPhase.WarmUp, $"prefill {n}");
            }
            foreach (var (cached, fresh) in warm)
            {
                cancellationToken.ThrowIfCancellationRequested();
                target.PrepareCachedPrefill(cached);
                target.Prefill(cached, fresh);
                report(ProfilingPhase.WarmUp, $"prefill {fresh} after {cached} cached");
            }
        }
        return fullSteps.Count > 0 ? Statistics.Median(fullSteps) : double.NaN;
    }

    /// <summary>One prefill sample (after <paramref name="cachedLength"/> restored tokens when positive): its milliseconds.</summary>
    private double TimePrefill(IProfilingTarget target, int promptLength, int cachedLength)
    {
        long t0 = _clock.GetTimestamp();
        if (cachedLength > 0) target.Prefill(cachedLength, promptLength);
        else target.Prefill(promptLength);
        return MillisecondsSince(t0);
    }

    /// <summary>
    /// The warm-prefill grid: <paramref name="count"/> cached lengths (whole prefix-cache blocks, up to three quarters of
    /// the longest prompt) × <paramref name="count"/> new lengths (16 to a quarter of it), within the context.
    /// </summary>
    internal static (int Cached, int New)[] CachedPrefillGrid(int maxPrompt, int context, int count)
    {
        int block = TimeBill.Core.Cache.PrefixCache.BlockTokens;
        if (count == 0 || maxPrompt < 2 * block) return [];
        int[] cached = [.. Grid(block, Math.Max(block, maxPrompt * 3 / 4), count).Select(c => Math.Max(block, c / block * block)).Distinct()];
        int[] fresh = Grid(Math.Min(16, maxPrompt / 4), Math.Max(16, maxPrompt / 4), count);
        return [.. cached.SelectMany(c => fresh.Where(n => c + n <= context).Select(n => (c, n)))];
    }

    /// <summary>
    /// One decode sample: <paramref name="times"/>.Length back-to-back steps at the point's KV length, each prepared
    /// (untimed) and timed on its own, reduced by <paramref name="statistic"/>.
    /// </summary>
    private double TimeSteps(IProfilingTarget target, GridPoint point, double[] times, SampleStatistic statistic, CancellationToken cancellationToken)
    {
        for (int s = 0; s < times.Length; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            target.PrepareDecodeStep(point.Length);
            long t0 = _clock.GetTimestamp();
            target.DecodeStep(point.Length, point.Layers);
            times[s] = MillisecondsSince(t0);
        }
        return Reduce(times, statistic);
    }

    /// <summary>One point of the grid and its samples. <see cref="Layers"/> is 0 for a prefill.</summary>
    private sealed class GridPoint(int length, int layers, int index, int planned, int cached = 0)
    {
        public int Length { get; } = length;
        /// <summary>For a warm prefill: the tokens restored before the <see cref="Length"/> new ones; else 0.</summary>
        public int Cached { get; } = cached;
        public int Layers { get; } = layers;
        /// <summary>The index of the length on its grid (decides held-out).</summary>
        public int Index { get; } = index;
        public bool IsPrefill => Layers == 0;
        /// <summary>Samples this point will take.</summary>
        public int Planned { get; set; } = planned;
        /// <summary>Its repetitions before any extra samples for an unsettled median (fewer for a long call).</summary>
        public int Repetitions { get; set; } = planned;
        public List<double> Samples { get; } = [];
        /// <summary>Wall milliseconds of the point's last sample, preparation included: the estimate of the next one.</summary>
        public double Cost { get; set; }
    }

    /// <summary>
    /// The points of a round that fit in <paramref name="millisecondsLeft"/>, cheapest first; the others stop at the
    /// samples they have.
    /// </summary>
    private static List<GridPoint> WithinBudget(List<GridPoint> due, double millisecondsLeft)
    {
        var taken = new List<GridPoint>();
        double spent = 0;
        foreach (var point in due.OrderBy(p => p.Cost))
        {
            if (spent + point.Cost <= millisecondsLeft)
            {
                spent += point.Cost;
                taken.Add(point);
            }
            else point.Planned = point.Samples.Count;
        }
        return taken;
    }

    /// <summary>
    /// The automatic number of steps per decode sample: enough for about 4 ms at the warm-up's
    /// <paramref name="fullStepMilliseconds"/>, from 3 to 15.
    /// </summary>
    private static int AutoStepsPerSample(double fullStepMilliseconds) =>
        double.IsFinite(fullStepMilliseconds) && fullStepMilliseconds > 0
            ? (int)Math.Clamp(Math.Ceiling(AutoSampleMilliseconds / fullStepMilliseconds), AutoMinStepsPerSample, AutoMaxStepsPerSample)
            : AutoMinStepsPerSample;

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

    /// <summary>
    /// Whether the warm grid's point at <paramref name="index"/> is held out: every <paramref name="every"/>-th
    /// anti-diagonal of the cached × new grid (by rank: cached rank + new rank ≡ 1), its corners excepted, so every cached
    /// and every new length is both fitted and held out.
    /// </summary>
    internal static bool IsWarmHeldOut((int Cached, int New)[] grid, int index, int every)
    {
        int[] cached = [.. grid.Select(p => p.Cached).Distinct().Order()], fresh = [.. grid.Select(p => p.New).Distinct().Order()];
        int c = Array.IndexOf(cached, grid[index].Cached), n = Array.IndexOf(fresh, grid[index].New);
        bool corner = (c == 0 || c == cached.Length - 1) && (n == 0 || n == fresh.Length - 1);
        return !corner && (c + n) % every == 1;
    }

    /// <summary>Elapsed milliseconds from raw timestamps (a <see cref="TimeSpan"/> would round to 100 ns).</summary>
    private double MillisecondsSince(long start) => (_clock.GetTimestamp() - start) * 1000.0 / _clock.TimestampFrequency;

    private static double Reduce(IReadOnlyList<double> samples, SampleStatistic statistic) => statistic switch
    {
        SampleStatistic.Minimum => samples.Min(),
        _ => Statistics.Median(samples),
    };
}
