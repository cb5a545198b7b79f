using System.Numerics;
using System.Numerics.Tensors;

namespace TimeBill.Core.Sampling;

/// <summary>
/// Picks tokens from logits: argmax when greedy, otherwise temperature, then top-k, top-p (nucleus) and min-p, then a
/// draw from the renormalised distribution with a seeded random stream. Each filter keeps a prefix of the tokens ranked
/// by probability (ties: the lower id first). Ranking never sorts the vocabulary: one pass files every token into a
/// bucket of its log-probability (1/16 nat wide), the bucket counts and masses locate each cut, and only the one bucket
/// a cut falls in is sorted. The draw runs over the kept buckets in vocabulary order, then the cut bucket in rank order.
/// </summary>
internal sealed class TokenSampler
{
    private const int Buckets = 256;
    private const float BucketsPerNat = 16f; // keys from 16 nats on (p < 1.2e-7 of the likeliest) share the last bucket
    private readonly SamplingOptions _options;
    private readonly Random _random;
    private const int Block = 1024;
    private readonly int[] _counts = new int[4 * Buckets];
    private readonly double[] _masses = new double[4 * Buckets];
    private float[] _keys = [];
    private float[] _probabilities = [];
    private float[] _scratch = [];
    private int[] _bucketOf = [];
    private double[] _blockSums = [];
    private ulong[] _ranked = [];
    private int _rankedBucket = -1;

    /// <summary>Creates a sampler; the options are validated.</summary>
    public TokenSampler(SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _random = options.Seed is long seed ? new Random(seed is >= int.MinValue and <= int.MaxValue ? (int)seed : (int)(seed ^ (seed >>> 32))) : new Random();
    }

    /// <summary>The next token for <paramref name="logits"/> (one row of vocabulary scores).</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("logits are empty.", nameof(logits));
        if (_options.IsGreedy) return ArgMax(logits);

        int n = logits.Length;
        if (_probabilities.Length != n) { _probabilities = new float[n]; _keys = new float[n]; _scratch = new float[n]; _bucketOf = new int[n]; _ranked = new ulong[n]; }
        float max = logits[ArgMax(logits)];
        if (float.IsNegativeInfinity(max)) throw new ArgumentException("every logit is −∞: no token can be chosen.", nameof(logits));
        // key = −log p relative to the likeliest token (≥ 0), p = exp(−key): the likeliest has p = 1, so min-p compares with MinP itself.
        Span<float> keys = _keys, probabilities = _probabilities;
        TensorPrimitives.Subtract(max, logits, keys);
        TensorPrimitives.Multiply(keys, 1f / _options.Temperature, keys);
        TensorPrimitives.Negate(keys, probabilities);
        TensorPrimitives.Exp(probabilities, probabilities);
        float floor = _options.MinP;

        if (_options.TopK == 0 && _options.TopP >= 1f) return DrawUnordered(probabilities, floor);

        FillBuckets(keys, probabilities);
        _rankedBucket = -1;
        int limit = _options.TopK > 0 ? Math.Min(_options.TopK, n) : n;
        // The cut: every token of buckets below `cut`, and the first `taken` of bucket `cut` in rank order.
        int cut = Buckets - 1, taken = _counts[Buckets - 1];
        double kept = 0, cutMass = _masses[Buckets - 1];
        for (int b = 0, before = 0; b < Buckets; b++)
        {
            if (before + _counts[b] >= limit)
            {
                cut = b;
                taken = limit - before;
                cutMass = taken == _counts[b] ? _masses[b] : RankedMass(b, taken);
                kept += cutMass;
                break;
            }
            before += _counts[b];
            kept += _masses[b];
        }
        if (_options.TopP < 1f)
        {
            double target = _options.TopP * kept, cumulative = 0;
            for (int b = 0; b <= cut; b++)
            {
                double mass = b == cut ? cutMass : _masses[b];
                if (cumulative + mass < target && b < cut) { cumulative += mass; continue; }
                int available = b == cut ? taken : _counts[b];
                var ranked = Rank(b);
                int count = available;
                for (int j = 0; j < available; j++)
                    if ((cumulative += probabilities[(int)(uint)ranked[j]]) >= target) { count = j + 1; break; }
                cut = b;
                taken = count;
                break;
            }
        }
        return Draw(probabilities, floor, cut, taken);
    }

    private void FillBuckets(ReadOnlySpan<float> keys, ReadOnlySpan<float> probabilities)
    {
        // Four interleaved histograms keep consecutive tokens of one bucket from waiting on each other's updates.
        Array.Clear(_counts);
        Array.Clear(_masses);
        var bucketOf = _bucketOf.AsSpan(0, keys.Length);
        TensorPrimitives.Multiply(keys, BucketsPerNat, _scratch);
        TensorPrimitives.Min(_scratch, Buckets - 1, _scratch);
        TensorPrimitives.ConvertTruncating<float, int>(_scratch, bucketOf);
        int i = 0;
        for (; i + 4 <= keys.Length; i += 4)
            for (int lane = 0; lane < 4; lane++)
            {
                int slot = lane * Buckets + bucketOf[i + lane];
                _counts[slot]++;
                _masses[slot] += probabilities[i + lane];
            }
        for (; i < keys.Length; i++) { _counts[bucketOf[i]]++; _masses[bucketOf[i]] += probabilities[i]; }
        for (int lane = 1; lane < 4; lane++)
            for (int b = 0; b < Buckets; b++) { _counts[b] += _counts[lane * Buckets + b]; _masses[b] += _masses[lane * Buckets + b]; }
    }

    /// <summary>The tokens of bucket <paramref name="bucket"/> in rank order (key, then id, packed in one ulong each).</summary>
    private ReadOnlySpan<ulong> Rank(int bucket)
    {
        var ranked = _ranked.AsSpan(0, _counts[bucket]);
        if (_rankedBucket == bucket) return ranked;
        ReadOnlySpan<int> bucketOf = _bucketOf.AsSpan(0, _keys.Length);
        for (int i = 0, j = 0; i < bucketOf.Length; i++)
            if (bucketOf[i] == bucket) ranked[j++] = (ulong)BitConverter.SingleToUInt32Bits(_keys[i]) << 32 | (uint)i; // keys ≥ 0: bits order as values
        ranked.Sort();
        _rankedBucket = bucket;
        return ranked;
    }

    private double RankedMass(int bucket, int count)
    {
        var ranked = Rank(bucket);
        double mass = 0;
        for (int j = 0; j < count; j++) mass += _probabilities[(int)(uint)ranked[j]];
        return mass;
    }

    /// <summary>A draw over the kept tokens at or above <paramref name="floor"/>: buckets below the cut, then the cut's first <paramref name="taken"/>.</summary>
    private int Draw(ReadOnlySpan<float> probabilities, float floor, int cut, int taken)
    {
        // Below the cut bucket ⇔ key·16 < cut ⇔ key < cut/16 (both exact in float).
        ReadOnlySpan<float> kept = Mask(_keys, cut / BucketsPerNat, probabilities, floor);
        var ranked = taken > 0 ? Rank(cut)[..taken] : [];
        double mass = BlockSums(kept);
        foreach (ulong entry in ranked)
            if (probabilities[(int)(uint)entry] >= floor) mass += probabilities[(int)(uint)entry];

        double draw = _random.NextDouble() * mass;
        if (Locate(kept, ref draw) is int found and >= 0) return found;
        int last = LastNonZero(kept);
        foreach (ulong entry in ranked)
        {
            int id = (int)(uint)entry;
            if (probabilities[id] < floor) continue;
            last = id;
            if ((draw -= probabilities[id]) < 0) return id;
        }
        return last; // rounding left a sliver of the draw: the last kept token
    }

    /// <summary>A draw over every token at or above <paramref name="floor"/>, in vocabulary order (no ranking needed).</summary>
    private int DrawUnordered(ReadOnlySpan<float> probabilities, float floor)
    {
        ReadOnlySpan<float> kept = floor > 0 ? Mask(_keys, float.PositiveInfinity, probabilities, floor) : probabilities;
        double draw = _random.NextDouble() * BlockSums(kept);
        return Locate(kept, ref draw) is int found and >= 0 ? found : LastNonZero(kept);
    }

    /// <summary>The probabilities of tokens with key below <paramref name="keyBound"/> and probability at least <paramref name="floor"/>; 0 elsewhere.</summary>
    private ReadOnlySpan<float> Mask(ReadOnlySpan<float> keys, float keyBound, ReadOnlySpan<float> probabilities, float floor)
    {
        var kept = _scratch.AsSpan(0, probabilities.Length);
        var bound = new Vector<float>(keyBound);
        var least = new Vector<float>(floor);
        int i = 0;
        for (; i + Vector<float>.Count <= kept.Length; i += Vector<float>.Count)
        {
            var p = new Vector<float>(probabilities[i..]);
            var keep = Vector.LessThan(new Vector<float>(keys[i..]), bound) & Vector.GreaterThanOrEqual(p, least);
            Vector.ConditionalSelect(keep.As<int, float>(), p, Vector<float>.Zero).CopyTo(kept[i..]);
        }
        for (; i < kept.Length; i++) kept[i] = keys[i] < keyBound && probabilities[i] >= floor ? probabilities[i] : 0f;
        return kept;
    }

    /// <summary>Sums <paramref name="weights"/> in blocks (kept for <see cref="Locate"/>); returns the total.</summary>
    private double BlockSums(ReadOnlySpan<float> weights)
    {
        int blocks = (weights.Length + Block - 1) / Block;
        if (_blockSums.Length < blocks) _blockSums = new double[blocks];
        double total = 0;
        for (int b = 0; b < blocks; b++)
            total += _blockSums[b] = TensorPrimitives.Sum(weights.Slice(b * Block, Math.Min(Block, weights.Length - b * Block)));
        return total;
    }

    /// <summary>The index where <paramref name="draw"/> falls in the cumulative weights, or −1 with the total taken off the draw.</summary>
    private int Locate(ReadOnlySpan<float> weights, ref double draw)
    {
        int blocks = (weights.Length + Block - 1) / Block;
        for (int b = 0; b < blocks; b++)
        {
            if (draw >= _blockSums[b]) { draw -= _blockSums[b]; continue; }
            int last = -1;
            for (int i = b * Block, end = Math.Min(weights.Length, i + Block); i < end; i++)
            {
                if (weights[i] == 0) continue;
                last = i;
                if ((draw -= weights[i]) < 0) return i;
            }
            if (last >= 0) return last; // the block's float sum exceeded its terms by a rounding sliver
        }
        return -1;
    }

    private static int LastNonZero(ReadOnlySpan<float> weights)
    {
        for (int i = weights.Length - 1; i >= 0; i--) if (weights[i] != 0) return i;
        return -1;
    }

    /// <summary>Index of the largest logit (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits) => TensorPrimitives.IndexOfMax(logits);
}
