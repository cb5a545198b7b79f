using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels.Memory;

/// <summary>
/// Measures how fast this machine streams memory into the cores with the kernels' own threads: the ceiling of a
/// decode step that reads every weight once (tokens/s ≤ bandwidth ÷ weight bytes). The buffer is a
/// <see cref="WeightArena"/> far larger than the caches, summed with wide loads, best of several passes.
/// </summary>
internal static unsafe class ReadBandwidth
{
    /// <summary>Bytes per second of the fastest of <paramref name="passes"/> reads of a <paramref name="bytes"/>-byte buffer split over <paramref name="threads"/> threads.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive size, thread count or pass count.</exception>
    public static double Measure(int threads, long bytes = 512L << 20, int passes = 5)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1L << 20);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(passes);
        using var arena = new WeightArena(bytes);
        long count = bytes / sizeof(float) / 64 * 64;
        float* data = arena.Take<float>(count);
        System.Runtime.InteropServices.NativeMemory.Fill(data, (nuint)(count * sizeof(float)), 0); // fault every page in before timing
        var args = new Args { Data = data, Blocks = count / 64 };
        double best = 0;
        for (int pass = 0; pass <= passes; pass++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            KernelThreads.For((int)Math.Min(args.Blocks, int.MaxValue), threads, &Sum, &args);
            double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (pass > 0) best = Math.Max(best, count * sizeof(float) / seconds); // pass 0 warms the threads up
        }
        return best;
    }

    private struct Args
    {
        public float* Data;
        public long Blocks;
        public float Sink;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sum(void* state, int start, int end)
    {
        ref Args args = ref Unsafe.AsRef<Args>(state);
        Vector256<float> a = default, b = default, c = default, d = default;
        for (long block = start; block < end; block++)
        {
            float* p = args.Data + block * 64;
            for (int i = 0; i < 64; i += 32)
            {
                a += Vector256.Load(p + i);
                b += Vector256.Load(p + i + 8);
                c += Vector256.Load(p + i + 16);
                d += Vector256.Load(p + i + 24);
            }
        }
        args.Sink += Vector256.Sum(a + b + c + d); // keeps the loads alive; races are harmless here
    }
}
