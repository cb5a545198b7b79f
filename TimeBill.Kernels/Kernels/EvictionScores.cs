using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace TimeBill.Kernels;

/// <summary>Score helpers the KV eviction policies (SnapKV-style) run before <see cref="TopK"/>.</summary>
internal static class EvictionScores
{
    /// <summary>
    /// Averages per-query-head scores [heads, length] over each grouped-query group into [kvHeads, length]: query
    /// heads g·(heads/kvHeads) … (g+1)·(heads/kvHeads)−1 share KV head g.
    /// </summary>
    /// <exception cref="ArgumentException">A span or dimension does not fit the others.</exception>
    public static void AverageGroups(ReadOnlySpan<float> headScores, int heads, int kvHeads, int length, Span<float> kvScores)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kvHeads);
        if (heads % kvHeads != 0) throw new ArgumentException($"heads {heads} is not a multiple of kvHeads {kvHeads}.", nameof(heads));
        if (headScores.Length != (long)heads * length) throw new ArgumentException($"headScores hold {headScores.Length} elements; [{heads}, {length}] needs {(long)heads * length}.", nameof(headScores));
        if (kvScores.Length != (long)kvHeads * length) throw new ArgumentException($"kvScores hold {kvScores.Length} elements; [{kvHeads}, {length}] needs {(long)kvHeads * length}.", nameof(kvScores));
        int group = heads / kvHeads;
        kvScores.Clear();
        for (int h = 0; h < heads; h++)
            TensorPrimitives.Add(kvScores.Slice(h / group * length, length), headScores.Slice(h * length, length), kvScores.Slice(h / group * length, length));
        TensorPrimitives.Multiply(kvScores, 1f / group, kvScores);
    }

    /// <summary>
    /// Max-pools each row of <paramref name="scores"/> [rows, length] over a centred window of
    /// <paramref name="window"/> positions (clipped at the row ends), so neighbours of a strong key survive with it.
    /// </summary>
    /// <exception cref="ArgumentException">A span or dimension does not fit the others, or the window is even or not positive.</exception>
    public static void MaxPool(ReadOnlySpan<float> scores, int rows, int length, int window, Span<float> pooled) =>
        Pool(scores, rows, length, window, pooled, average: false);

    /// <summary>
    /// Average-pools each row of <paramref name="scores"/> [rows, length] over a centred window of
    /// <paramref name="window"/> positions with zero padding at the row ends, always dividing by the window (as
    /// <c>avg_pool1d</c> with <c>count_include_pad</c>, SnapKV's smoothing).
    /// </summary>
    /// <exception cref="ArgumentException">A span or dimension does not fit the others, or the window is even or not positive.</exception>
    public static void AveragePool(ReadOnlySpan<float> scores, int rows, int length, int window, Span<float> pooled) =>
        Pool(scores, rows, length, window, pooled, average: true);

    /// <summary>Each output is the max, or the sum ÷ window, of the row's values within the centred window.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pool(ReadOnlySpan<float> scores, int rows, int length, int window, Span<float> pooled, bool average)
    {
        if (window < 1 || window % 2 == 0) throw new ArgumentOutOfRangeException(nameof(window), window, "Must be a positive odd number.");
        if (scores.Length != (long)rows * length) throw new ArgumentException($"scores hold {scores.Length} elements; [{rows}, {length}] needs {(long)rows * length}.", nameof(scores));
        if (pooled.Length != scores.Length) throw new ArgumentException($"pooled holds {pooled.Length} elements, scores {scores.Length}.", nameof(pooled));
        if (pooled.Overlaps(scores)) throw new ArgumentException("pooled must not overlap scores.", nameof(pooled));
        int radius = window / 2;
        for (int r = 0; r < rows; r++)
        {
            var row = scores.Slice(r * length, length);
            for (int i = 0; i < length; i++)
            {
                int lo = Math.Max(0, i - radius), hi = Math.Min(length, i + radius + 1);
                var span = row[lo..hi];
                pooled[r * length + i] = average ? TensorPrimitives.Sum(span) / window : TensorPrimitives.Max(span);
            }
        }
    }
}
