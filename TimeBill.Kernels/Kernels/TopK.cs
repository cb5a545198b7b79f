using System.Buffers;
using System.Runtime.CompilerServices;

namespace TimeBill.Kernels;

/// <summary>
/// Top-k selection for KV eviction: per KV head, the indices of the k largest scores (ties: the lower index
/// wins), always including the protected positions, returned sorted ascending by index.
/// </summary>
internal static class TopK
{
    /// <summary>The variant used when no tuning table says otherwise.</summary>
    public static KernelVariant DefaultVariant => new(KernelVariant.QuickSelect);

    /// <summary>Selects, for each of <paramref name="kvHeads"/> rows of <paramref name="scores"/> [kvHeads, length], k positions into <paramref name="indices"/> [kvHeads, k].</summary>
    /// <param name="scores">Scores [kvHeads, length].</param>
    /// <param name="kvHeads">Rows of <paramref name="scores"/>.</param>
    /// <param name="length">Positions per row.</param>
    /// <param name="k">Positions kept per row, protected ones included.</param>
    /// <param name="indices">Receives [kvHeads, k] ascending positions.</param>
    /// <param name="protectedPositions">Empty; [length] flags of positions every row keeps (attention sinks, the recent
    /// window); or [kvHeads, length] flags, one row per KV head (heads compacted differently).</param>
    /// <param name="variant">Algorithm; <see cref="DefaultVariant"/> when null.</param>
    /// <exception cref="ArgumentException">A span or count does not fit the others, or more positions are protected than k.</exception>
    // Optimised at first call: eviction runs once per request, so tiered JIT would leave it in tier-0 code for
    // the first few dozen requests (about 10× slower loops).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Select(ReadOnlySpan<float> scores, int kvHeads, int length, int k, Span<int> indices,
        ReadOnlySpan<bool> protectedPositions = default, KernelVariant? variant = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kvHeads);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if ((uint)k > (uint)length) throw new ArgumentOutOfRangeException(nameof(k), k, $"Must be in 0..length ({length}).");
        if (scores.Length != (long)kvHeads * length) throw new ArgumentException($"scores hold {scores.Length} elements; [{kvHeads}, {length}] needs {(long)kvHeads * length}.", nameof(scores));
        if (indices.Length != (long)kvHeads * k) throw new ArgumentException($"indices hold {indices.Length} elements; [{kvHeads}, {k}] needs {(long)kvHeads * k}.", nameof(indices));
        bool perHead = protectedPositions.Length == (long)kvHeads * length && kvHeads > 1;
        if (!protectedPositions.IsEmpty && protectedPositions.Length != length && !perHead)
            throw new ArgumentException($"protectedPositions holds {protectedPositions.Length} flags, neither length {length} nor [{kvHeads}, {length}].", nameof(protectedPositions));

        bool quickSelect = (variant ?? DefaultVariant).Algorithm != KernelVariant.Sort;
        ulong[] rented = ArrayPool<ulong>.Shared.Rent(Math.Max(length, 1));
        try
        {
            for (int h = 0; h < kvHeads; h++)
            {
                var row = scores.Slice(h * length, length);
                var output = indices.Slice(h * k, k);
                var flags = perHead ? protectedPositions.Slice(h * length, length) : protectedPositions;
                int kept = flags.Count(true);
                if (kept > k) throw new ArgumentException($"{kept} positions are protected but only k = {k} are kept.", nameof(protectedPositions));
                int candidates = 0;
                for (int i = 0; i < length; i++)
                    if (flags.IsEmpty || !flags[i]) rented[candidates++] = Key(row[i], i);
                var keys = rented.AsSpan(0, candidates);
                int need = k - kept;
                if (quickSelect) { if (need > 0 && need < candidates) SelectSmallest(keys, need); }
                else keys.Sort();
                // Keys are unique, so exactly the selected ones are at or below the largest selected key; one scan
                // in position order emits them (with the protected ones) already ascending.
                ulong threshold = 0;
                foreach (ulong key in keys[..need]) threshold = Math.Max(threshold, key);
                int o = 0;
                for (int i = 0; i < length; i++)
                    if ((!flags.IsEmpty && flags[i]) || (need > 0 && Key(row[i], i) <= threshold)) output[o++] = i;
            }
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(rented);
        }
    }

    /// <summary>A key whose ascending order is score descending, then index ascending (unique per position).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Key(float score, int index)
    {
        uint bits = BitConverter.SingleToUInt32Bits(score);
        uint ascending = (bits & 0x8000_0000) != 0 ? ~bits : bits | 0x8000_0000;
        return ((ulong)~ascending << 32) | (uint)index;
    }

    /// <summary>Reorders <paramref name="keys"/> so its first <paramref name="count"/> elements are its smallest (Hoare quickselect).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SelectSmallest(Span<ulong> keys, int count)
    {
        int lo = 0, hi = keys.Length - 1, target = count - 1;
        while (lo < hi)
        {
            ulong pivot = keys[lo + (hi - lo) / 2];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (keys[i] < pivot) i++;
                while (keys[j] > pivot) j--;
                if (i <= j)
                {
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                    i++;
                    j--;
                }
            }
            if (target <= j) hi = j; else if (target >= i) lo = i; else return;
        }
    }
}
