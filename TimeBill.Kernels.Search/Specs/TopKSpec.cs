using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Specs;

/// <summary>
/// Per KV head, the K positions to keep: all protected positions plus the largest scores (ties: lower index),
/// sorted ascending. Shape dimensions: kvHeads, length, k, protected sinks (first positions), protected recent (last positions).
/// </summary>
public sealed class TopKCase : KernelCase
{
    /// <summary>Scores [KvHeads, Length]; rounded to 1/16 so ties occur.</summary>
    public float[] Scores { get; }
    /// <summary>[Length] flags of positions that are always kept.</summary>
    public bool[] Protected { get; }
    /// <summary>[KvHeads, K] ascending kept positions, the output.</summary>
    public int[] Indices { get; }
    /// <summary>Rows of scores.</summary>
    public int KvHeads => Shape[0];
    /// <summary>Positions per row.</summary>
    public int Length => Shape[1];
    /// <summary>Positions kept per row.</summary>
    public int K => Shape[2];

    internal TopKCase(KernelShape shape, int seed) : base(shape)
    {
        var random = new Random(seed);
        Scores = [.. RandomFloats(random, (long)KvHeads * Length).Select(s => MathF.Round(s * 16) / 16)];
        Protected = [.. Enumerable.Range(0, Length).Select(i => i < Shape[3] || i >= Length - Shape[4])];
        Indices = new int[KvHeads * K];
    }

    /// <inheritdoc />
    public override long Bytes => 4L * (Scores.Length + Indices.Length) + Length;
    /// <inheritdoc />
    public override void Poison() => Array.Fill(Indices, -1);
    /// <inheritdoc />
    public override double[] Result() => [.. Indices.Select(i => (double)i)];
    /// <inheritdoc />
    public override double[] Reference() =>
    [
        .. Enumerable.Range(0, KvHeads).SelectMany(h => Enumerable.Range(0, Length)
            .OrderByDescending(i => Protected[i]).ThenByDescending(i => Scores[h * Length + i]).ThenBy(i => i)
            .Take(K).Order().Select(i => (double)i)),
    ];
}

/// <summary>Spec of <see cref="TopK.Select"/>.</summary>
public sealed class TopKSpec : KernelSpec<TopKCase>
{
    /// <inheritdoc />
    public override string Name => KernelNames.TopK;
    /// <inheritdoc />
    public override string Task =>
        "KV eviction selection. For each KV head h, keep K of Length positions: every position with Protected[i], then the largest " +
        "Scores[h, i] (on equal scores the lower index wins) until K are kept. Write them to Indices[h, 0..K) sorted ascending.";
    /// <inheritdoc />
    public override string NaiveSource => """
        using System.Linq;
        using TimeBill.Kernels.Specs;
        public static class Candidate
        {
            public static void Run(TopKCase c)
            {
                for (int h = 0; h < c.KvHeads; h++)
                {
                    var kept = Enumerable.Range(0, c.Length)
                        .OrderByDescending(i => c.Protected[i]).ThenByDescending(i => c.Scores[h * c.Length + i]).ThenBy(i => i)
                        .Take(c.K).Order().ToArray();
                    kept.CopyTo(c.Indices, h * c.K);
                }
            }
        }
        """;
    /// <inheritdoc />
    public override IReadOnlyList<KernelShape> VerificationShapes { get; } =
        [Shape(1, 1, 1, 0, 0), Shape(2, 10, 3, 1, 1), Shape(3, 100, 20, 4, 8), Shape(1, 50, 50, 0, 0), Shape(4, 33, 0, 0, 0), Shape(2, 257, 100, 4, 32)];
    /// <summary>SmolLM2-135M's 3 KV heads, a 1024-token prompt halved, 4 sinks and a 32-token recent window protected.</summary>
    public override IReadOnlyList<KernelShape> ProfileShapes { get; } = [Shape(3, 1024, 512, 4, 32)];
    /// <inheritdoc />
    public override KernelVariant DefaultVariant => TopK.DefaultVariant;
    /// <summary>kvHeads, length, k, protected sinks, protected recent.</summary>
    public static KernelShape Shape(int kvHeads, int length, int k, int sinks, int recent) =>
        new($"kv{kvHeads} L{length} k{k} p{sinks}+{recent}", [kvHeads, length, k, sinks, recent]);
    /// <inheritdoc />
    public override string ShapeClass(KernelShape shape) => ShapeClasses.Any;
    /// <inheritdoc />
    public override KernelCase CreateCase(KernelShape shape, int seed) => new TopKCase(shape, seed);
    /// <inheritdoc />
    public override (double Absolute, double Relative) Tolerance(KernelShape shape) => (0, 0);
    /// <inheritdoc />
    public override IReadOnlyList<KernelVariant> FeatureSpace() => [new(KernelVariant.Sort), new(KernelVariant.QuickSelect)];
    /// <inheritdoc />
    protected override void Run(TopKCase c, KernelVariant variant) =>
        TopK.Select(c.Scores, c.KvHeads, c.Length, c.K, c.Indices, c.Protected, variant);
}
