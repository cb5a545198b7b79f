namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// The grids and repetitions of a profiling run. The defaults hold out a third of each grid (at least five points per
/// curve) and, with a <see cref="TimeBudget"/> of eight minutes, keep a 135M-parameter model profiled to 2,048-token
/// prompts under ten minutes on two cores.
/// </summary>
internal sealed record ExecutionTimeProfilerOptions
{
    /// <summary>Longest prompt to prefill; <c>null</c>: the model's context, capped at 2,048.</summary>
    public int? MaxPromptLength { get; init; }

    /// <summary>Shortest prompt to prefill (default 8).</summary>
    public int MinPromptLength { get; init; } = 8;

    /// <summary>Longest KV length to time a decode step at; <c>null</c>: twice the longest prompt, within the context.</summary>
    public int? MaxKvLength { get; init; }

    /// <summary>Number of prompt lengths on the prefill grid (default 16).</summary>
    public int PrefillGridPoints { get; init; } = 16;

    /// <summary>
    /// Cached and new lengths on the warm-prefill grid, each (default 4: 4 × 4 prefills of new tokens after a prefix
    /// restored from the prefix cache, fewer where they exceed the context); 0 profiles cold prefills only. Used when the
    /// target supports it.
    /// </summary>
    public int CachedPrefillGridPoints { get; init; } = 4;

    /// <summary>Number of KV lengths on the decode grid (default 16).</summary>
    public int KvGridPoints { get; init; } = 16;

    /// <summary>Number of depths ℓ on the decode grid, always including 1 and L (default 4).</summary>
    public int LayerGridPoints { get; init; } = 4;

    /// <summary>Timed repetitions of each prefill point, reduced by <see cref="Statistic"/> (default 5).</summary>
    public int PrefillRepetitions { get; init; } = 5;

    /// <summary>Timed repetitions (batches of steps) of each decode point, reduced by <see cref="Statistic"/> (default 9).</summary>
    public int DecodeRepetitions { get; init; } = 9;

    /// <summary>
    /// Back-to-back decode steps at the point's KV length per repetition; each step is timed and the repetition counts as
    /// their <see cref="Statistic"/> (the median step by default). <c>null</c> (default): enough steps for about 4 ms, from 3 to 15, after the warm-up's full-depth step.
    /// </summary>
    public int? StepsPerSample { get; init; }

    /// <summary>
    /// A point whose median exceeds its fastest sample by more than this share after its repetitions is unsettled (noise
    /// from a neighbour, preemption) and gets two more samples at a time, up to twice its repetitions (default 0.1).
    /// </summary>
    public double UnsettledTolerance { get; init; } = 0.1;

    /// <summary>A point whose first sample takes longer than this many milliseconds gets only <see cref="LongCallRepetitions"/> samples (default 2,000).</summary>
    public double LongCallMilliseconds { get; init; } = 2000;

    /// <summary>
    /// Repetitions of a point whose first sample is long (default 5: a median of five). On a shared machine a slow
    /// stretch can cover two consecutive rounds of long prefills; a median of three then reports the slow value.
    /// At the default <see cref="PrefillRepetitions"/> (5) long prefills are therefore not cut; a lower value here
    /// trades that robustness for profiling time.
    /// </summary>
    public int LongCallRepetitions { get; init; } = 5;

    /// <summary>
    /// A point whose first sample is short gets more repetitions, up to <see cref="ShortPointMaxFactor"/> times its own,
    /// so that its samples add up to about this much wall time (default 1 s; <see cref="TimeSpan.Zero"/>: off). Short
    /// calls are the noisiest relative to their length (stories260K's 7–60 ms prefills and 40–100 µs steps spread ±20 %
    /// between samples) and the cheapest to repeat: there every prefill and decode point gets 2–8 times its
    /// repetitions, while the 135M shape's prefills (0.1–6 s) keep their five and its decode points (about 0.1 s a
    /// sample) gain a few.
    /// </summary>
    public TimeSpan ShortPointTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The most a short point's repetitions grow by (see <see cref="ShortPointTime"/>; default 8).</summary>
    public int ShortPointMaxFactor { get; init; } = 8;

    /// <summary>
    /// Wall time the run may take; <c>null</c> (default): no limit. Every point gets one sample whatever the budget; a
    /// later round takes only the points whose previous sample fits in the time left, cheapest first.
    /// </summary>
    public TimeSpan? TimeBudget { get; init; }

    /// <summary>How a point's repetitions become its time (default <see cref="SampleStatistic.Median"/>).</summary>
    public SampleStatistic Statistic { get; init; } = SampleStatistic.Median;

    /// <summary>Untimed warm-up rounds before measuring (default 3).</summary>
    public int WarmUpRounds { get; init; } = 3;

    /// <summary>
    /// Warm-up goes on round after round until this much time has passed, when <see cref="WarmUpRounds"/> is above 0
    /// (default 3 s: .NET promotes hot methods to optimised code only after a quiet 100 ms and a background compile, and a
    /// freshly started host keeps a core busy compiling for its first seconds; with 1 s the first measured round of a
    /// CLI run still came out several times slower).
    /// </summary>
    public TimeSpan WarmUpTime { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Decode steps at each depth in a warm-up round (default 32: the JIT optimises a managed kernel after about 30 calls).</summary>
    public int WarmUpSteps { get; init; } = 32;

    /// <summary>Every n-th grid point (by length, never an end point) is held out of the fit to measure its quality (default 3).</summary>
    public int HeldOutEvery { get; init; } = 3;

    /// <summary>Seed of the random measuring order (default 20260).</summary>
    public int Seed { get; init; } = 20260;

    internal void Validate()
    {
        static void AtLeast(int value, int min, string name)
        {
            if (value < min) throw new ArgumentOutOfRangeException(name, value, $"{name} must be ≥ {min}.");
        }
        AtLeast(MinPromptLength, 1, nameof(MinPromptLength));
        if (MaxPromptLength is { } mp) AtLeast(mp, MinPromptLength, nameof(MaxPromptLength));
        if (MaxKvLength is { } mk) AtLeast(mk, 1, nameof(MaxKvLength));
        AtLeast(PrefillGridPoints, 4, nameof(PrefillGridPoints));
        AtLeast(KvGridPoints, 3, nameof(KvGridPoints));
        AtLeast(CachedPrefillGridPoints, 0, nameof(CachedPrefillGridPoints));
        AtLeast(LayerGridPoints, 1, nameof(LayerGridPoints));
        AtLeast(PrefillRepetitions, 1, nameof(PrefillRepetitions));
        AtLeast(DecodeRepetitions, 1, nameof(DecodeRepetitions));
        AtLeast(WarmUpRounds, 0, nameof(WarmUpRounds));
        AtLeast(WarmUpSteps, 1, nameof(WarmUpSteps));
        if (WarmUpTime < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(WarmUpTime), WarmUpTime, $"{nameof(WarmUpTime)} must not be negative.");
        if (StepsPerSample is { } steps) AtLeast(steps, 1, nameof(StepsPerSample));
        if (!(LongCallMilliseconds > 0))
            throw new ArgumentOutOfRangeException(nameof(LongCallMilliseconds), LongCallMilliseconds, $"{nameof(LongCallMilliseconds)} must be > 0.");
        AtLeast(LongCallRepetitions, 1, nameof(LongCallRepetitions));
        AtLeast(ShortPointMaxFactor, 1, nameof(ShortPointMaxFactor));
        if (ShortPointTime < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ShortPointTime), ShortPointTime, $"{nameof(ShortPointTime)} must not be negative.");
        if (!(UnsettledTolerance >= 0))
            throw new ArgumentOutOfRangeException(nameof(UnsettledTolerance), UnsettledTolerance, $"{nameof(UnsettledTolerance)} must be ≥ 0.");
        if (TimeBudget is { } budget && budget <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(TimeBudget), budget, $"{nameof(TimeBudget)} must be positive.");
        AtLeast(HeldOutEvery, 3, nameof(HeldOutEvery));
    }
}
