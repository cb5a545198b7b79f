using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels;

/// <summary>
/// Attention of ONE query token over a compacted grouped-query KV cache. q is [heads, headDim]; keys and values
/// are [kvHeads, capacity, headDim] of which the first <c>length</c> entries per KV head are valid; query head h
/// reads KV head h / (heads / kvHeads). Scores are scaled by 1/√headDim and normalised by an online (streaming)
/// softmax. Output is [heads, headDim]. With a slot table the valid entries need not be the first <c>length</c>: entry
/// t of KV head h is then at slot <c>slots[h · capacity + t]</c> (a cache evicted in place). With first entries (a
/// sliding-window layer), KV head h attends only to its entries <c>firsts[h]..length − 1</c>.
/// </summary>
/// <remarks>
/// The query heads that share a KV head are computed together, block by block, so a block of keys and values
/// comes from memory once per group and stays in cache for the group's other heads; each head scores four keys
/// at a time (four independent multiply-add chains). When the KV heads do not
/// split evenly across the threads, each KV head's keys are also split into one part per thread
/// (flash-decoding); the parts' running maxima, denominators and unnormalised outputs are merged at the end.
/// </remarks>
internal static unsafe class DecodeAttention
{
    /// <summary>Largest <see cref="KernelVariant.BlockSize"/> honoured (scores of one block live on the stack).</summary>
    public const int MaxBlockSize = 256;

    /// <summary>The variant used when no tuning table says otherwise.</summary>
    public static KernelVariant DefaultVariant => new(KernelVariant.OnlineSoftmax, KernelVariant.WidestAcceleratedWidth, BlockSize: 32);

    // Scores of one block for every head of a group live on the stack: at most this many floats.
    private const int MaxStackScores = 4096;
    // Below this many keys per part a split costs more in merging than it saves.
    private const int MinKeysPerPart = 64;

    /// <summary>Computes the attention output of one query token.</summary>
    /// <param name="q">The query, <c>[heads, headDim]</c>, already rotated.</param>
    /// <param name="keys">Keys, <c>[kvHeads, capacity, headDim]</c>, already rotated.</param>
    /// <param name="values">Values, laid out as <paramref name="keys"/>.</param>
    /// <param name="heads">Query heads.</param>
    /// <param name="kvHeads">KV heads; <paramref name="heads"/> must be a multiple.</param>
    /// <param name="headDim">Width of a head.</param>
    /// <param name="capacity">Slots per KV head in <paramref name="keys"/> and <paramref name="values"/>.</param>
    /// <param name="length">Entries per KV head attended to, in 1..<paramref name="capacity"/>.</param>
    /// <param name="output">The result, <c>[heads, headDim]</c>.</param>
    /// <param name="variant">The implementation (default <see cref="DefaultVariant"/>).</param>
    /// <param name="slots">Empty (the entries are each head's first <paramref name="length"/> slots), or
    /// <c>[kvHeads, capacity]</c> slot indices of which each head's first <paramref name="length"/> are its entries.</param>
    /// <param name="firsts">Empty (every head attends to all its entries), or <c>[kvHeads]</c>: the first entry each head
    /// attends to, in 0..<paramref name="length"/> − 1.</param>
    /// <exception cref="ArgumentException">A span or dimension does not fit the others, a slot outside the capacity, or a first entry outside the entries.</exception>
    public static void Apply(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        int heads, int kvHeads, int headDim, int capacity, int length, Span<float> output, KernelVariant? variant = null,
        ReadOnlySpan<int> slots = default, ReadOnlySpan<int> firsts = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kvHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        if (heads % kvHeads != 0) throw new ArgumentException($"heads {heads} is not a multiple of kvHeads {kvHeads}.", nameof(kvHeads));
        if (length < 1 || length > capacity) throw new ArgumentOutOfRangeException(nameof(length), length, $"Must be in 1..capacity ({capacity}).");
        long cache = (long)kvHeads * capacity * headDim;
        if (q.Length != heads * headDim) throw new ArgumentException($"q holds {q.Length} elements; [{heads}, {headDim}] needs {heads * headDim}.", nameof(q));
        if (keys.Length != cache) throw new ArgumentException($"keys hold {keys.Length} elements; [{kvHeads}, {capacity}, {headDim}] needs {cache}.", nameof(keys));
        if (values.Length != cache) throw new ArgumentException($"values hold {values.Length} elements; [{kvHeads}, {capacity}, {headDim}] needs {cache}.", nameof(values));
        if (output.Length != q.Length) throw new ArgumentException($"output holds {output.Length} elements, q {q.Length}.", nameof(output));
        if (!slots.IsEmpty)
        {
            if (slots.Length != (long)kvHeads * capacity) throw new ArgumentException($"slots hold {slots.Length} elements; [{kvHeads}, {capacity}] needs {(long)kvHeads * capacity}.", nameof(slots));
            for (int h = 0; h < kvHeads; h++)
                foreach (int slot in slots.Slice(h * capacity, length))
                    if ((uint)slot >= (uint)capacity) throw new ArgumentException($"slot {slot} of KV head {h} is outside 0..{capacity - 1}.", nameof(slots));
        }
        if (!firsts.IsEmpty)
        {
            if (firsts.Length != kvHeads) throw new ArgumentException($"firsts hold {firsts.Length} elements; one per KV head needs {kvHeads}.", nameof(firsts));
            for (int h = 0; h < kvHeads; h++)
                if ((uint)firsts[h] >= (uint)length) throw new ArgumentException($"first entry {firsts[h]} of KV head {h} is outside 0..{length - 1}.", nameof(firsts));
        }
        var v = variant ?? DefaultVariant;
        int group = heads / kvHeads;
        int threads = Math.Clamp(v.Threads, 1, KernelThreads.MaxThreads);
        int parts = threads > 1 && kvHeads % threads != 0 ? Math.Clamp(length / MinKeysPerPart, 1, threads) : 1;
        int block = Math.Clamp(v.BlockSize, 1, Math.Max(1, Math.Min(MaxBlockSize, MaxStackScores / group)));
        // Per (part, head): running max, denominator, then headDim unnormalised output values.
        int stride = headDim + 2, partials = parts * heads * stride;
        float[]? rented = partials > MaxStackScores ? System.Buffers.ArrayPool<float>.Shared.Rent(partials) : null;
        Span<float> partial = rented is null ? stackalloc float[partials] : rented.AsSpan(0, partials);
        fixed (float* pq = q, pk = keys, pv = values, pp = partial)
        fixed (int* ps = slots, pf = firsts)
        {
            var args = new Args
            {
                Q = pq, K = pk, V = pv, Partial = pp, Slots = ps, Firsts = pf, Group = group, HeadDim = headDim, Heads = heads,
                Capacity = capacity, Length = length, BlockSize = block, Parts = parts,
            };
            var body = v.VectorWidth switch
            {
                128 => (delegate*<void*, int, int, void>)&Parts<Lanes128, Vector128<float>>,
                512 => &Parts<Lanes512, Vector512<float>>,
                _ => &Parts<Lanes256, Vector256<float>>,
            };
            KernelThreads.For(kvHeads * parts, threads, body, &args);
        }
        Merge(partial, heads, headDim, parts, output);
        if (rented is not null) System.Buffers.ArrayPool<float>.Shared.Return(rented);
    }

    private struct Args
    {
        public float* Q, K, V, Partial;
        public int* Slots; // null: each head's entries are its first Length slots
        public int* Firsts; // null: each head attends from its entry 0
        public int Group, HeadDim, Heads, Capacity, Length, BlockSize, Parts;
    }

    /// <summary>output[h] = Σ_p e^(max_p − max) · out_p[h] / Σ_p e^(max_p − max) · den_p[h].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // every step: no tier-0 code
    private static void Merge(ReadOnlySpan<float> partial, int heads, int d, int parts, Span<float> output)
    {
        int stride = d + 2;
        for (int h = 0; h < heads; h++)
        {
            var result = output.Slice(h * d, d);
            float max = float.NegativeInfinity;
            for (int p = 0; p < parts; p++) max = Math.Max(max, partial[(p * heads + h) * stride]);
            float denominator = 0f;
            result.Clear();
            for (int p = 0; p < parts; p++)
            {
                var part = partial.Slice((p * heads + h) * stride, stride);
                if (part[1] == 0f) continue; // an empty part: no keys, nothing to add
                float weight = MathF.Exp(part[0] - max);
                denominator += weight * part[1];
                for (int i = 0; i < d; i++) result[i] += weight * part[2 + i];
            }
            float inverse = 1f / denominator;
            for (int i = 0; i < d; i++) result[i] *= inverse;
        }
    }

    /// <summary>Work items [start, end): item i is KV head i / Parts, key range part i % Parts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Parts<TL, TV>(void* state, int start, int end) where TL : IFloatLanes<TV> where TV : struct
    {
        ref Args a = ref *(Args*)state;
        int d = a.HeadDim, g = a.Group, b = a.BlockSize, stride = d + 2;
        float scale = 1f / MathF.Sqrt(d);
        Span<float> scores = stackalloc float[g * b];
        for (int item = start; item < end; item++)
        {
            int kvHead = item / a.Parts, part = item % a.Parts;
            int first = a.Firsts == null ? 0 : a.Firsts[kvHead], count = a.Length - first;
            int from = first + (int)((long)count * part / a.Parts), to = first + (int)((long)count * (part + 1) / a.Parts);
            long head = (long)kvHead * a.Capacity * d;
            float* keys = a.K + head, values = a.V + head;
            int* slots = a.Slots == null ? null : a.Slots + (long)kvHead * a.Capacity;
            float* partial = a.Partial + ((long)part * a.Heads + kvHead * g) * stride;
            for (int j = 0; j < g; j++)
            {
                float* p = partial + j * stride;
                p[0] = float.NegativeInfinity;
                p[1] = 0f;
                new Span<float>(p + 2, d).Clear();
            }
            for (int t0 = from; t0 < to; t0 += b)
            {
                int n = Math.Min(b, to - t0);
                for (int j = 0; j < g; j++)
                {
                    float* q = a.Q + (kvHead * g + j) * d, p = partial + j * stride;
                    var block = scores.Slice(j * b, n);
                    Score<TL, TV>(q, keys, slots, t0, d, scale, block);
                    float newMax = Math.Max(p[0], Max(block));
                    if (newMax > p[0])
                    {
                        float correction = MathF.Exp(p[0] - newMax); // 0 on the first block
                        p[1] *= correction;
                        Scale<TL, TV>(p + 2, correction, d);
                        p[0] = newMax;
                    }
                    p[1] += ExpShiftedAndSum<TL, TV>(block, newMax);
                    AddWeighted<TL, TV>(p + 2, values, slots, t0, block, d);
                }
            }
        }
    }

    /// <summary>The row of entry <paramref name="entry"/>: its slot, or the entry itself without a slot table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Row(float* storage, int* slots, int entry, int d) => storage + (long)(slots == null ? entry : slots[entry]) * d;

    /// <summary>scores[t] = scale · q · key of entry first + t, for the block's keys, four keys per pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Score<TL, TV>(float* q, float* keys, int* slots, int first, int d, float scale, Span<float> scores) where TL : IFloatLanes<TV> where TV : struct
    {
        int n = scores.Length, t = 0, vectorEnd = d - d % TL.Count;
        for (; t + 4 <= n; t += 4)
        {
            float* k0 = Row(keys, slots, first + t, d), k1 = Row(keys, slots, first + t + 1, d);
            float* k2 = Row(keys, slots, first + t + 2, d), k3 = Row(keys, slots, first + t + 3, d);
            TV a0 = TL.Zero, a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0; i < vectorEnd; i += TL.Count)
            {
                var x = TL.Load(ref q[i]);
                a0 = TL.MultiplyAdd(x, TL.Load(ref k0[i]), a0);
                a1 = TL.MultiplyAdd(x, TL.Load(ref k1[i]), a1);
                a2 = TL.MultiplyAdd(x, TL.Load(ref k2[i]), a2);
                a3 = TL.MultiplyAdd(x, TL.Load(ref k3[i]), a3);
            }
            float s0 = TL.Sum(a0), s1 = TL.Sum(a1), s2 = TL.Sum(a2), s3 = TL.Sum(a3);
            for (int i = vectorEnd; i < d; i++)
            {
                s0 += q[i] * k0[i];
                s1 += q[i] * k1[i];
                s2 += q[i] * k2[i];
                s3 += q[i] * k3[i];
            }
            scores[t] = s0 * scale;
            scores[t + 1] = s1 * scale;
            scores[t + 2] = s2 * scale;
            scores[t + 3] = s3 * scale;
        }
        for (; t < n; t++)
        {
            float* k = Row(keys, slots, first + t, d);
            TV acc = TL.Zero;
            for (int i = 0; i < vectorEnd; i += TL.Count) acc = TL.MultiplyAdd(TL.Load(ref q[i]), TL.Load(ref k[i]), acc);
            float sum = TL.Sum(acc);
            for (int i = vectorEnd; i < d; i++) sum += q[i] * k[i];
            scores[t] = sum * scale;
        }
    }

    /// <summary>output += Σ_t weights[t] · value of entry first + t, four value rows per load and store of the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddWeighted<TL, TV>(float* output, float* values, int* slots, int first, ReadOnlySpan<float> weights, int d) where TL : IFloatLanes<TV> where TV : struct
    {
        int n = weights.Length, t = 0, vectorEnd = d - d % TL.Count;
        for (; t + 4 <= n; t += 4)
        {
            float* v0 = Row(values, slots, first + t, d), v1 = Row(values, slots, first + t + 1, d);
            float* v2 = Row(values, slots, first + t + 2, d), v3 = Row(values, slots, first + t + 3, d);
            float w0 = weights[t], w1 = weights[t + 1], w2 = weights[t + 2], w3 = weights[t + 3];
            TV b0 = TL.Broadcast(w0), b1 = TL.Broadcast(w1), b2 = TL.Broadcast(w2), b3 = TL.Broadcast(w3);
            for (int i = 0; i < vectorEnd; i += TL.Count)
            {
                var o = TL.MultiplyAdd(TL.Load(ref v0[i]), b0, TL.Load(ref output[i]));
                o = TL.MultiplyAdd(TL.Load(ref v1[i]), b1, o);
                o = TL.MultiplyAdd(TL.Load(ref v2[i]), b2, o);
                TL.Store(TL.MultiplyAdd(TL.Load(ref v3[i]), b3, o), ref output[i]);
            }
            for (int i = vectorEnd; i < d; i++) output[i] += w0 * v0[i] + w1 * v1[i] + w2 * v2[i] + w3 * v3[i];
        }
        for (; t < n; t++)
        {
            float* v = Row(values, slots, first + t, d);
            var w = TL.Broadcast(weights[t]);
            for (int i = 0; i < vectorEnd; i += TL.Count) TL.Store(TL.MultiplyAdd(TL.Load(ref v[i]), w, TL.Load(ref output[i])), ref output[i]);
            for (int i = vectorEnd; i < d; i++) output[i] += weights[t] * v[i];
        }
    }

    /// <summary>The largest score (scalar: a block is at most a few hundred).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Max(ReadOnlySpan<float> scores)
    {
        float max = float.NegativeInfinity;
        foreach (float score in scores) max = Math.Max(max, score);
        return max;
    }

    /// <summary>
    /// scores[t] = e^(scores[t] − max) in place, returning their sum. Inlined into the kernel, so it is optimised code
    /// from the first call (TensorPrimitives' exp ran as tier-0 code for the first several thousand steps).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ExpShiftedAndSum<TL, TV>(Span<float> scores, float max) where TL : IFloatLanes<TV> where TV : struct
    {
        ref float s = ref scores[0];
        var shift = TL.Broadcast(max);
        TV sum = TL.Zero;
        int n = scores.Length, i = 0;
        for (; i + TL.Count <= n; i += TL.Count)
        {
            var e = TL.Exp(TL.Subtract(TL.Load(ref Unsafe.Add(ref s, i)), shift));
            TL.Store(e, ref Unsafe.Add(ref s, i));
            sum = TL.Add(sum, e);
        }
        float total = TL.Sum(sum);
        for (; i < n; i++) total += scores[i] = MathF.Exp(scores[i] - max);
        return total;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale<TL, TV>(float* output, float factor, int n) where TL : IFloatLanes<TV> where TV : struct
    {
        var f = TL.Broadcast(factor);
        int i = 0;
        for (; i + TL.Count <= n; i += TL.Count) TL.Store(TL.Multiply(TL.Load(ref output[i]), f), ref output[i]);
        for (; i < n; i++) output[i] *= factor;
    }
}
