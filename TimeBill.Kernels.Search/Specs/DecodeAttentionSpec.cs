using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Specs;

/// <summary>
/// One query token attending over a compacted GQA cache. Shape dimensions: heads, kvHeads, headDim, capacity, length.
/// </summary>
public sealed class DecodeAttentionCase : KernelCase
{
    /// <summary>Query [Heads, HeadDim].</summary>
    public float[] Q { get; }
    /// <summary>Keys [KvHeads, Capacity, HeadDim]; the first Length entries per KV head are valid.</summary>
    public float[] Keys { get; }
    /// <summary>Values [KvHeads, Capacity, HeadDim]; the first Length entries per KV head are valid.</summary>
    public float[] Values { get; }
    /// <summary>[Heads, HeadDim], the output.</summary>
    public float[] Output { get; }
    /// <summary>Query heads.</summary>
    public int Heads => Shape[0];
    /// <summary>KV heads; query head h reads KV head h / (Heads / KvHeads).</summary>
    public int KvHeads => Shape[1];
    /// <summary>Elements per head.</summary>
    public int HeadDim => Shape[2];
    /// <summary>Cache entries allocated per KV head.</summary>
    public int Capacity => Shape[3];
    /// <summary>Valid cache entries per KV head.</summary>
    public int Length => Shape[4];

    internal DecodeAttentionCase(KernelShape shape, int seed) : base(shape)
    {
        var random = new Random(seed);
        Q = RandomFloats(random, Heads * HeadDim);
        Keys = RandomFloats(random, (long)KvHeads * Capacity * HeadDim);
        Values = RandomFloats(random, (long)KvHeads * Capacity * HeadDim);
        for (int i = 0; i < Q.Length; i++) Q[i] *= 4; // peaked softmax: exercises the running-max rescale
        Output = new float[Q.Length];
    }

    /// <inheritdoc />
    public override long Bytes => 4L * (2 * Q.Length + Keys.Length + Values.Length);
    /// <inheritdoc />
    public override void Poison() => Array.Fill(Output, float.NaN);
    /// <inheritdoc />
    public override double[] Result() => ToDoubles(Output);
    /// <inheritdoc />
    public override double[] Reference()
    {
        int d = HeadDim, group = Heads / KvHeads;
        var output = new double[Q.Length];
        var weights = new double[Length];
        for (int h = 0; h < Heads; h++)
        {
            long head = (long)(h / group) * Capacity * d;
            for (int t = 0; t < Length; t++)
            {
                double dot = 0;
                for (int i = 0; i < d; i++) dot += (double)Q[h * d + i] * Keys[head + (long)t * d + i];
                weights[t] = dot / Math.Sqrt(d);
            }
            double max = weights.Max(), sum = 0;
            for (int t = 0; t < Length; t++) sum += weights[t] = Math.Exp(weights[t] - max);
            for (int t = 0; t < Length; t++)
                for (int i = 0; i < d; i++) output[h * d + i] += weights[t] / sum * Values[head + (long)t * d + i];
        }
        return output;
    }
}

/// <summary>Spec of <see cref="DecodeAttention.Apply"/>.</summary>
public sealed class DecodeAttentionSpec : KernelSpec<DecodeAttentionCase>
{
    /// <inheritdoc />
    public override string Name => KernelNames.DecodeAttention;
    /// <inheritdoc />
    public override string Task =>
        "Decode attention for one query token over a grouped-query KV cache. For query head h, KV head g = h / (Heads / KvHeads); " +
        "score[t] = dot(Q[h], Keys[g, t]) / sqrt(HeadDim) for t < Length; p = softmax(score); Output[h] = sum_t p[t] * Values[g, t]. " +
        "Cache entries at t >= Length are garbage and must not be read into the result.";
    /// <inheritdoc />
    public override string NaiveSource => """
        using System;
        using TimeBill.Kernels.Specs;
        public static class Candidate
        {
            public static void Run(DecodeAttentionCase c)
            {
                int d = c.HeadDim, group = c.Heads / c.KvHeads;
                var scores = new float[c.Length];
                for (int h = 0; h < c.Heads; h++)
                {
                    long head = (long)(h / group) * c.Capacity * d;
                    float max = float.NegativeInfinity, sum = 0;
                    for (int t = 0; t < c.Length; t++)
                    {
                        float dot = 0;
                        for (int i = 0; i < d; i++) dot += c.Q[h * d + i] * c.Keys[head + (long)t * d + i];
                        scores[t] = dot / MathF.Sqrt(d);
                        max = MathF.Max(max, scores[t]);
                    }
                    for (int t = 0; t < c.Length; t++) sum += scores[t] = MathF.Exp(scores[t] - max);
                    for (int i = 0; i < d; i++)
                    {
                        float acc = 0;
                        for (int t = 0; t < c.Length; t++) acc += scores[t] * c.Values[head + (long)t * d + i];
                        c.Output[h * d + i] = acc / sum;
                    }
                }
            }
        }
        """;
    /// <inheritdoc />
    public override IReadOnlyList<KernelShape> VerificationShapes { get; } =
        [Shape(1, 1, 7, 5, 5), Shape(4, 2, 9, 17, 13), Shape(2, 1, 64, 3, 1), Shape(6, 6, 16, 70, 70), Shape(9, 3, 64, 300, 257),
         Shape(9, 3, 64, 700, 611), Shape(8, 1, 12, 200, 131)]; // the last two split each KV head's keys across threads
    /// <summary>SmolLM2-135M: 9 query heads, 3 KV heads, head dim 64, 1024 cached tokens.</summary>
    public override IReadOnlyList<KernelShape> ProfileShapes { get; } = [Shape(9, 3, 64, 1024, 1024)];
    /// <inheritdoc />
    public override KernelVariant DefaultVariant => DecodeAttention.DefaultVariant;
    /// <summary>heads, kvHeads, headDim, capacity, length.</summary>
    public static KernelShape Shape(int heads, int kvHeads, int headDim, int capacity, int length) =>
        new($"h{heads} kv{kvHeads} d{headDim} L{length}/{capacity}", [heads, kvHeads, headDim, capacity, length]);
    /// <inheritdoc />
    public override string ShapeClass(KernelShape shape) => ShapeClasses.Any;
    /// <inheritdoc />
    public override KernelCase CreateCase(KernelShape shape, int seed) => new DecodeAttentionCase(shape, seed);
    /// <inheritdoc />
    public override (double Absolute, double Relative) Tolerance(KernelShape shape) => (2e-5, 1e-4);
    /// <inheritdoc />
    public override IReadOnlyList<KernelVariant> FeatureSpace() =>
    [
        .. from width in AcceleratedWidths
           from block in new[] { 1, 8, 32, 128 }
           from threads in ThreadCounts
           select new KernelVariant(KernelVariant.OnlineSoftmax, width, Threads: threads, BlockSize: block),
    ];
    /// <inheritdoc />
    protected override void Run(DecodeAttentionCase c, KernelVariant variant) =>
        DecodeAttention.Apply(c.Q, c.Keys, c.Values, c.Heads, c.KvHeads, c.HeadDim, c.Capacity, c.Length, c.Output, variant);
}
