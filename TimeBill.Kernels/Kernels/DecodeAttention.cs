using System.Numerics.Tensors;

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
    public static KernelVariant DefaultVariant => new(KernelVariant.OnlineSoftmax, BlockSize: 32);

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
            KernelThreads.For(heads, v.Threads, &Heads, &args);
        }
    }

    private struct Args
    {
        public float* Q, K, V, Output;
        public int Group, HeadDim, Capacity, Length, BlockSize;
    }

    private static void Heads(void* state, int start, int end)
    {
        ref Args a = ref *(Args*)state;
        int d = a.HeadDim;
        float scale = 1f / MathF.Sqrt(d);
        Span<float> scores = stackalloc float[a.BlockSize];
        for (int h = start; h < end; h++)
        {
            var q = new ReadOnlySpan<float>(a.Q + h * d, d);
            var output = new Span<float>(a.Output + h * d, d);
            long head = (long)(h / a.Group) * a.Capacity * d;
            float* keys = a.K + head, values = a.V + head;
            output.Clear();
            float max = float.NegativeInfinity, denominator = 0f;
            for (int t0 = 0; t0 < a.Length; t0 += a.BlockSize)
            {
                var block = scores[..Math.Min(a.BlockSize, a.Length - t0)];
                for (int j = 0; j < block.Length; j++)
                    block[j] = TensorPrimitives.Dot(q, new ReadOnlySpan<float>(keys + (long)(t0 + j) * d, d)) * scale;
                float newMax = Math.Max(max, TensorPrimitives.Max(block));
                if (newMax > max)
                {
                    float correction = MathF.Exp(max - newMax); // 0 on the first block
                    denominator *= correction;
                    TensorPrimitives.Multiply(output, correction, output);
                    max = newMax;
                }
                TensorPrimitives.Subtract(block, max, block);
                TensorPrimitives.Exp(block, block);
                denominator += TensorPrimitives.Sum(block);
                for (int j = 0; j < block.Length; j++)
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(values + (long)(t0 + j) * d, d), block[j], output, output);
            }
            TensorPrimitives.Multiply(output, 1f / denominator, output);
        }
    }
}
