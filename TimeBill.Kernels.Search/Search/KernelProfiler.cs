using System.Diagnostics;
using TimeBill.Kernels.Specs;

namespace TimeBill.Kernels.Search;

/// <summary>
/// Times kernels the way they run in a decode step, cold: the inputs rotate through enough cases to exceed the
/// last-level cache, each timed batch is long enough for the clock, and the median of the batches is reported.
/// </summary>
/// <param name="lastLevelCacheBytes">Size of the cache the rotation must overflow.</param>
public sealed class KernelProfiler(long lastLevelCacheBytes)
{
    /// <summary>Untimed calls before timing.</summary>
    public int WarmupCalls { get; init; } = 3;
    /// <summary>Most timed batches; the median is reported.</summary>
    public int Repetitions { get; init; } = 9;
    /// <summary>Shortest timed batch.</summary>
    public TimeSpan MinBatch { get; init; } = TimeSpan.FromMilliseconds(1);
    /// <summary>Time one measurement aims to stay under; slow kernels get fewer warm-up calls and repetitions (at least 3).</summary>
    public TimeSpan MaxMeasurement { get; init; } = TimeSpan.FromSeconds(0.5);
    /// <summary>Most cases in a rotation (bounds memory for tiny kernels).</summary>
    public int MaxRotation { get; init; } = 16384;

    /// <summary>Cases at <paramref name="shape"/> whose total size exceeds 1.5× the last-level cache (at least 2).</summary>
    public KernelCase[] CreateRotation(KernelSpec spec, KernelShape shape, int seed)
    {
        var first = spec.CreateCase(shape, seed);
        long count = Math.Clamp(lastLevelCacheBytes * 3 / 2 / Math.Max(first.Bytes, 1) + 1, 2, MaxRotation);
        return [first, .. Enumerable.Range(1, (int)count - 1).Select(i => spec.CreateCase(shape, seed + i))];
    }

    /// <summary>Median seconds per call of <paramref name="run"/>(i) over cases i = 0, 1, … rotating through <paramref name="cases"/>.</summary>
    public double MedianSeconds(int cases, Action<int> run)
    {
        int next = 0, warmups = 0;
        long start = Stopwatch.GetTimestamp();
        do run(next++ % cases);
        while (++warmups < WarmupCalls && Stopwatch.GetElapsedTime(start) < MaxMeasurement / 10);
        double perCall = Math.Max(Stopwatch.GetElapsedTime(start).TotalSeconds / warmups, 1e-9);
        int batch = (int)Math.Clamp(MinBatch.TotalSeconds / perCall, 1, 1_000_000);
        int repetitions = (int)Math.Clamp(MaxMeasurement.TotalSeconds / (perCall * batch), Math.Min(3, Repetitions), Repetitions);
        var samples = new double[repetitions];
        for (int r = 0; r < repetitions; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < batch; i++) run(next++ % cases);
            samples[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds / batch;
        }
        Array.Sort(samples);
        return samples[repetitions / 2];
    }
}
