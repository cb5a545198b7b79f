using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels;

/// <summary>
/// Causal attention of a block of prompt tokens whose KV entries sit at their own positions (a fresh prefill, or a later
/// chunk of one), as flash attention: for each KV head and block of 16 queries, the queries of every head in the group
/// meet the keys 64 at a time (scores as a register-blocked product against the transposed key block), with an online
/// softmax, so no score matrix is ever larger than [group·16, 64]. Work items (KV head, query block) are split across
/// threads, early and late query blocks paired so that each thread's share of the causal triangle is even.
/// </summary>
internal static unsafe class PrefillAttention
{
    private const int QueryBlock = 16, KeyBlock = 64;

    /// <summary>Whether a head width is handled (a multiple of 32).</summary>
    public static bool Supports(int headDim) => headDim > 0 && headDim % 32 == 0;

    /// <summary>
    /// output[t, h, :] = softmax(q[h, t, :]·K[h/g]ᵀ/√d over keys 0..offset + t (or the last <paramref name="window"/> of them))·V.
    /// </summary>
    /// <param name="q">Queries <c>[heads, tokens, headDim]</c>, rotated; query t is at position offset + t.</param>
    /// <param name="keys">Keys <c>[kvHeads, capacity, headDim]</c>: entry p is position p, for p below offset + tokens.</param>
    /// <param name="values">Values, laid out as <paramref name="keys"/>.</param>
    /// <param name="heads">Query heads, a multiple of <paramref name="kvHeads"/>.</param>
    /// <param name="kvHeads">KV heads.</param>
    /// <param name="headDim">Head width (see <see cref="Supports"/>).</param>
    /// <param name="capacity">Slots per KV head.</param>
    /// <param name="tokens">Queries.</param>
    /// <param name="offset">Position of the first query (entries before it come from earlier chunks).</param>
    /// <param name="window">Keys a query sees at most (a sliding-window layer), or 0 for all.</param>
    /// <param name="output">The result <c>[tokens, heads, headDim]</c>.</param>
    /// <param name="threads">Threads to split the work across.</param>
    /// <exception cref="ArgumentException">A span or dimension does not fit the others.</exception>
    public static void Apply(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int heads, int kvHeads,
        int headDim, int capacity, int tokens, int offset, int window, Span<float> output, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kvHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokens);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(window);
        if (!Supports(headDim)) throw new ArgumentException($"head width {headDim} is not a positive multiple of 32.", nameof(headDim));
        if (heads % kvHeads != 0) throw new ArgumentException($"heads {heads} is not a multiple of kvHeads {kvHeads}.", nameof(kvHeads));
        if (offset + tokens > capacity) throw new ArgumentException($"positions up to {offset + tokens} exceed the capacity {capacity}.", nameof(capacity));
        long cache = (long)kvHeads * capacity * headDim, queries = (long)heads * tokens * headDim;
        if (q.Length != queries) throw new ArgumentException($"q holds {q.Length} elements; [{heads}, {tokens}, {headDim}] needs {queries}.", nameof(q));
        if (keys.Length != cache) throw new ArgumentException($"keys hold {keys.Length} elements; [{kvHeads}, {capacity}, {headDim}] needs {cache}.", nameof(keys));
        if (values.Length != cache) throw new ArgumentException($"values hold {values.Length} elements; [{kvHeads}, {capacity}, {headDim}] needs {cache}.", nameof(values));
        if (output.Length != queries) throw new ArgumentException($"output holds {output.Length} elements; [{tokens}, {heads}, {headDim}] needs {queries}.", nameof(output));
        fixed (float* pq = q, pk = keys, pv = values, po = output)
        {
            var args = new Args
            {
                Q = pq, K = pk, V = pv, O = po, Heads = heads, KvHeads = kvHeads, Group = heads / kvHeads, HeadDim = headDim,
                Capacity = capacity, Tokens = tokens, Offset = offset, Window = window, QueryBlocks = (tokens + QueryBlock - 1) / QueryBlock,
                Scale = 1 / MathF.Sqrt(headDim),
            };
            KernelThreads.For(kvHeads * args.QueryBlocks, threads, &Items, &args, spinAfter: false);
        }
    }

    private struct Args
    {
        public float* Q, K, V, O;
        public int Heads, KvHeads, Group, HeadDim, Capacity, Tokens, Offset, Window, QueryBlocks;
        public float Scale;
    }

    private static void Items(void* state, int start, int end)
    {
        ref Args a = ref Unsafe.AsRef<Args>(state);
        int rows = a.Group * QueryBlock, d = a.HeadDim;
        // Queries, outputs, scores, key block transposed, then per row the running maximum and denominator.
        long floats = 2L * rows * d + (long)rows * KeyBlock + (long)d * KeyBlock + 2L * rows;
        float* scratch = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
        try
        {
            for (int w = start; w < end; w++)
            {
                // Pairs of consecutive items take one early and one late query block: halves of the range cost the same.
                int kh = w % a.KvHeads, k = w / a.KvHeads;
                int block = (k & 1) == 0 ? k / 2 : a.QueryBlocks - 1 - k / 2;
                Item(ref a, kh, block, scratch);
            }
        }
        finally
        {
            NativeMemory.AlignedFree(scratch);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Item(ref Args a, int kh, int block, float* scratch)
    {
        int d = a.HeadDim, g = a.Group, first = block * QueryBlock, nq = Math.Min(QueryBlock, a.Tokens - first), rows = g * nq;
        float* qs = scratch, os = qs + (long)g * QueryBlock * d, s = os + (long)g * QueryBlock * d, kt = s + (long)g * QueryBlock * KeyBlock;
        float* max = kt + (long)d * KeyBlock, sum = max + g * QueryBlock;
        // Row r = hh·nq + i is query first + i of head kh·g + hh, scaled by 1/√d.
        var scale = Vector256.Create(a.Scale);
        for (int hh = 0; hh < g; hh++)
            for (int i = 0; i < nq; i++)
            {
                float* source = a.Q + ((long)(kh * g + hh) * a.Tokens + first + i) * d;
                float* row = qs + (long)(hh * nq + i) * d;
                for (int c = 0; c < d; c += 8) (Vector256.Load(source + c) * scale).Store(row + c);
            }
        new Span<float>(os, rows * d).Clear();
        for (int r = 0; r < rows; r++) (max[r], sum[r]) = (float.NegativeInfinity, 0);

        int firstPosition = a.Offset + first, lastPosition = firstPosition + nq - 1;
        int keyEnd = lastPosition + 1, keyStart = a.Window > 0 ? Math.Max(0, firstPosition - a.Window + 1) : 0;
        float* keys = a.K + (long)kh * a.Capacity * d, values = a.V + (long)kh * a.Capacity * d;
        for (int kb = keyStart; kb < keyEnd; kb += KeyBlock)
        {
            int kn = Math.Min(KeyBlock, keyEnd - kb);
            for (int j = 0; j < KeyBlock; j++)
            {
                float* key = keys + (long)(kb + j) * d;
                if (j < kn) for (int c = 0; c < d; c++) kt[c * KeyBlock + j] = key[c];
                else for (int c = 0; c < d; c++) kt[c * KeyBlock + j] = 0;
            }
            Scores(qs, kt, s, rows, d);
            bool masked = kb + KeyBlock - 1 > firstPosition || (a.Window > 0 && kb < lastPosition - a.Window + 1);
            if (masked)
                for (int r = 0; r < rows; r++)
                {
                    int position = firstPosition + r % nq;
                    float* sr = s + r * KeyBlock;
                    for (int j = 0; j < KeyBlock; j++)
                    {
                        int key = kb + j;
                        if (j >= kn || key > position || (a.Window > 0 && key <= position - a.Window)) sr[j] = float.NegativeInfinity;
                    }
                }
            for (int r = 0; r < rows; r++) Softmax(s + r * KeyBlock, ref max[r], ref sum[r], os + (long)r * d, d);
            Accumulate(s, values + (long)kb * d, os, rows, kn, d);
        }
        for (int hh = 0; hh < g; hh++)
            for (int i = 0; i < nq; i++)
            {
                int r = hh * nq + i;
                var inverse = Vector256.Create(1 / sum[r]);
                float* row = os + (long)r * d, target = a.O + ((long)(first + i) * a.Heads + kh * g + hh) * d;
                for (int c = 0; c < d; c += 8) (Vector256.Load(row + c) * inverse).Store(target + c);
            }
    }

    /// <summary>s[r, j] = Σ_c q[r, c]·kt[c, j] for 64 keys: four rows against 32 keys per register block.</summary>
    private static void Scores(float* q, float* kt, float* s, int rows, int d)
    {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
            for (int jc = 0; jc < KeyBlock; jc += 32)
            {
                Lanes32 a0 = default, a1 = default, a2 = default, a3 = default;
                float* q0 = q + (long)r * d, q1 = q0 + d, q2 = q1 + d, q3 = q2 + d;
                for (int c = 0; c < d; c++)
                {
                    var k = Lanes32.Load(kt + c * KeyBlock + jc);
                    a0 = Lanes32.MultiplyAdd(q0[c], k, a0);
                    a1 = Lanes32.MultiplyAdd(q1[c], k, a1);
                    a2 = Lanes32.MultiplyAdd(q2[c], k, a2);
                    a3 = Lanes32.MultiplyAdd(q3[c], k, a3);
                }
                float* o = s + (long)r * KeyBlock + jc;
                a0.Store(o);
                a1.Store(o + KeyBlock);
                a2.Store(o + 2 * KeyBlock);
                a3.Store(o + 3 * KeyBlock);
            }
        for (; r < rows; r++)
            for (int jc = 0; jc < KeyBlock; jc += 32)
            {
                Lanes32 a0 = default;
                float* q0 = q + (long)r * d;
                for (int c = 0; c < d; c++) a0 = Lanes32.MultiplyAdd(q0[c], Lanes32.Load(kt + c * KeyBlock + jc), a0);
                a0.Store(s + (long)r * KeyBlock + jc);
            }
    }

    /// <summary>Online softmax of one row of 64 scores: they become weights e^(s − max), and the row's output and denominator are rescaled to the new maximum.</summary>
    private static void Softmax(float* s, ref float max, ref float sum, float* output, int d)
    {
        var m = Vector256.Max(Vector256.Max(Vector256.Load(s), Vector256.Load(s + 8)), Vector256.Max(Vector256.Load(s + 16), Vector256.Load(s + 24)));
        m = Vector256.Max(m, Vector256.Max(Vector256.Max(Vector256.Load(s + 32), Vector256.Load(s + 40)), Vector256.Max(Vector256.Load(s + 48), Vector256.Load(s + 56))));
        float blockMax = float.NegativeInfinity;
        for (int i = 0; i < 8; i++) blockMax = MathF.Max(blockMax, m.GetElement(i));
        if (blockMax == float.NegativeInfinity)
        {
            new Span<float>(s, KeyBlock).Clear();
            return;
        }
        float newMax = MathF.Max(max, blockMax);
        float correction = max == float.NegativeInfinity ? 0 : MathF.Exp(max - newMax);
        var shift = Vector256.Create(newMax);
        var total = Vector256<float>.Zero;
        var minusInfinity = Vector256.Create(float.NegativeInfinity);
        for (int j = 0; j < KeyBlock; j += 8)
        {
            var x = Vector256.Load(s + j);
            var e = Vector256.ConditionalSelect(Vector256.Equals(x, minusInfinity), Vector256<float>.Zero, SingleExp.Exp(x - shift));
            e.Store(s + j);
            total += e;
        }
        sum = sum * correction + Vector256.Sum(total);
        max = newMax;
        if (correction != 1)
        {
            var c = Vector256.Create(correction);
            for (int i = 0; i < d; i += 8) (Vector256.Load(output + i) * c).Store(output + i);
        }
    }

    /// <summary>o[r, :] += Σ_j p[r, j]·v[j, :] for the block's <paramref name="keys"/> keys: four rows against 32 columns per register block.</summary>
    private static void Accumulate(float* p, float* v, float* o, int rows, int keys, int d)
    {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
            for (int dc = 0; dc < d; dc += 32)
            {
                float* o0 = o + (long)r * d + dc, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
                var (a0, a1, a2, a3) = (Lanes32.Load(o0), Lanes32.Load(o1), Lanes32.Load(o2), Lanes32.Load(o3));
                float* p0 = p + (long)r * KeyBlock, p1 = p0 + KeyBlock, p2 = p1 + KeyBlock, p3 = p2 + KeyBlock;
                for (int j = 0; j < keys; j++)
                {
                    var value = Lanes32.Load(v + (long)j * d + dc);
                    a0 = Lanes32.MultiplyAdd(p0[j], value, a0);
                    a1 = Lanes32.MultiplyAdd(p1[j], value, a1);
                    a2 = Lanes32.MultiplyAdd(p2[j], value, a2);
                    a3 = Lanes32.MultiplyAdd(p3[j], value, a3);
                }
                a0.Store(o0);
                a1.Store(o1);
                a2.Store(o2);
                a3.Store(o3);
            }
        for (; r < rows; r++)
            for (int dc = 0; dc < d; dc += 32)
            {
                float* o0 = o + (long)r * d + dc, p0 = p + (long)r * KeyBlock;
                var a0 = Lanes32.Load(o0);
                for (int j = 0; j < keys; j++) a0 = Lanes32.MultiplyAdd(p0[j], Lanes32.Load(v + (long)j * d + dc), a0);
                a0.Store(o0);
            }
    }

    /// <summary>32 consecutive floats in four registers: one row of a register block.</summary>
    private struct Lanes32
    {
        private Vector256<float> _a, _b, _c, _d;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes32 Load(float* p) => new() { _a = Vector256.Load(p), _b = Vector256.Load(p + 8), _c = Vector256.Load(p + 16), _d = Vector256.Load(p + 24) };

        /// <summary>scale·x + acc, lane by lane.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes32 MultiplyAdd(float scale, Lanes32 x, Lanes32 acc)
        {
            var s = Vector256.Create(scale);
            return new()
            {
                _a = Vector256.FusedMultiplyAdd(s, x._a, acc._a), _b = Vector256.FusedMultiplyAdd(s, x._b, acc._b),
                _c = Vector256.FusedMultiplyAdd(s, x._c, acc._c), _d = Vector256.FusedMultiplyAdd(s, x._d, acc._d),
            };
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Store(float* p)
        {
            _a.Store(p);
            _b.Store(p + 8);
            _c.Store(p + 16);
            _d.Store(p + 24);
        }
    }
}
