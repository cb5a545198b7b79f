using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels;

/// <summary>
/// Attention of ONE query token over a compacted grouped-query KV cache. q is [heads, headDim]; keys and values
/// are [kvHeads, capacity, headDim] of which the first <c>length</c> entries per KV head are valid; query head h
/// reads KV head h / (heads / kvHeads). Scores are scaled by 1/√headDim and normalised by an online (streaming)
/// softmax, so no score buffer is allocated. Output is [heads, headDim].
/// </summary>
public static unsafe class DecodeAttention
{
    /// <summary>Largest <see cref="KernelVariant.BlockSize"/> honoured (scores of one block live on the stack).</summary>
    public const int MaxBlockSize = 256;

    /// <summary>The variant used when no tuning table says otherwise.</summary>
    public static KernelVariant DefaultVariant => new(KernelVariant.OnlineSoftmax, KernelVariant.WidestAcceleratedWidth, BlockSize: 32);

    /// <summary>Computes the attention output of one query token.</summary>
    /// <exception cref="ArgumentException">A span or dimension does not fit the others.</exception>
    public static void Apply(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        int heads, int kvHeads, int headDim, int capacity, int length, Span<float> output, KernelVariant? variant = null)
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
        var v = variant ?? DefaultVariant;
        fixed (float* pq = q, pk = keys, pv = values, po = output)
        {
            var args = new Args
            {
                Q = pq, K = pk, V = pv, Output = po, Group = heads / kvHeads, HeadDim = headDim,
                Capacity = capacity, Length = length, BlockSize = Math.Clamp(v.BlockSize, 1, MaxBlockSize),
            };
            var body = v.VectorWidth switch
            {
                128 => (delegate*<void*, int, int, void>)&Heads<Lanes128, Vector128<float>>,
                512 => &Heads<Lanes512, Vector512<float>>,
                _ => &Heads<Lanes256, Vector256<float>>,
            };
            KernelThreads.For(heads, v.Threads, body, &args);
        }
    }

    private struct Args
    {
        public float* Q, K, V, Output;
        public int Group, HeadDim, Capacity, Length, BlockSize;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Heads<TL, TV>(void* state, int start, int end) where TL : IFloatLanes<TV> where TV : struct
    {
        ref Args a = ref *(Args*)state;
        int d = a.HeadDim;
        float scale = 1f / MathF.Sqrt(d);
        Span<float> scores = stackalloc float[a.BlockSize];
        for (int h = start; h < end; h++)
        {
            float* q = a.Q + h * d, output = a.Output + h * d;
            long head = (long)(h / a.Group) * a.Capacity * d;
            float* keys = a.K + head, values = a.V + head;
            new Span<float>(output, d).Clear();
            float max = float.NegativeInfinity, denominator = 0f;
            for (int t0 = 0; t0 < a.Length; t0 += a.BlockSize)
            {
                var block = scores[..Math.Min(a.BlockSize, a.Length - t0)];
                for (int j = 0; j < block.Length; j++)
                    block[j] = Dot<TL, TV>(q, keys + (long)(t0 + j) * d, d) * scale;
                float newMax = Math.Max(max, TensorPrimitives.Max(block));
                if (newMax > max)
                {
                    float correction = MathF.Exp(max - newMax); // 0 on the first block
                    denominator *= correction;
                    Scale<TL, TV>(output, correction, d);
                    max = newMax;
                }
                TensorPrimitives.Subtract(block, max, block);
                TensorPrimitives.Exp(block, block);
                denominator += TensorPrimitives.Sum(block);
                for (int j = 0; j < block.Length; j++)
                    AddScaled<TL, TV>(output, values + (long)(t0 + j) * d, block[j], d);
            }
            Scale<TL, TV>(output, 1f / denominator, d);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<TL, TV>(float* x, float* y, int n) where TL : IFloatLanes<TV> where TV : struct
    {
        TV acc = TL.Zero;
        int i = 0;
        for (; i + TL.Count <= n; i += TL.Count) acc = TL.MultiplyAdd(TL.Load(ref x[i]), TL.Load(ref y[i]), acc);
        float sum = TL.Sum(acc);
        for (; i < n; i++) sum += x[i] * y[i];
        return sum;
    }

    /// <summary>output += weight · v.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled<TL, TV>(float* output, float* v, float weight, int n) where TL : IFloatLanes<TV> where TV : struct
    {
        var w = TL.Broadcast(weight);
        int i = 0;
        for (; i + TL.Count <= n; i += TL.Count) TL.Store(TL.MultiplyAdd(TL.Load(ref v[i]), w, TL.Load(ref output[i])), ref output[i]);
        for (; i < n; i++) output[i] += weight * v[i];
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
